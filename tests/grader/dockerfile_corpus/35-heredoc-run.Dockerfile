FROM debian:bookworm-slim
RUN <<EOF
echo hello
USER not-an-instruction
EOF
LABEL a=b

FROM debian:bookworm-slim
COPY <<EOF /hello.txt
hello
EOF

# syntax=docker/dockerfile:1
FROM debian:bookworm-slim
RUN <<EOF
echo hello
EOF

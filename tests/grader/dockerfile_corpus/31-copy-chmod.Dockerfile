FROM debian:bookworm-slim
COPY --chmod=755 hello.txt /hello.txt

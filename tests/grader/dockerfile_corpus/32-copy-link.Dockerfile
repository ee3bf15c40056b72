FROM debian:bookworm-slim
COPY --link hello.txt /hello.txt

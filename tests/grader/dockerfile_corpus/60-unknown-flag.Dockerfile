FROM debian:bookworm-slim
COPY --frobnicate=yes hello.txt /

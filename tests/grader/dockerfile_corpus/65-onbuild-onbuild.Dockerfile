FROM debian:bookworm-slim
ONBUILD ONBUILD RUN true

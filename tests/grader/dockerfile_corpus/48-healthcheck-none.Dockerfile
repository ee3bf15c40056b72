FROM debian:bookworm-slim
HEALTHCHECK NONE

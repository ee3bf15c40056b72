FROM debian:bookworm-slim
HEALTHCHECK true

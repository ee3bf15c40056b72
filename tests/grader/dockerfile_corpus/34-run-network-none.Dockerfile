FROM debian:bookworm-slim
RUN --network=none true

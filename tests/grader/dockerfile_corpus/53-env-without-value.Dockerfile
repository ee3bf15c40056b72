FROM debian:bookworm-slim
ENV LONELY

FROM debian:bookworm-slim
RUN

FROM debian:bookworm-slim
HEALTHCHECK --interval=5s --timeout=3s --start-period=1s --retries=2 \
  CMD true

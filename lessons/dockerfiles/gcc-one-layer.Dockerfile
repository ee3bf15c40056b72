FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends gcc \
 && gcc --version | head -n1 \
 && apt-get remove -y --purge gcc && apt-get autoremove -y --purge \
 && rm -rf /var/lib/apt/lists/*

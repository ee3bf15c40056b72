FROM debian:bookworm-slim
EXPOSE

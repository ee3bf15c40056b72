FROM debian:bookworm-slim
ONBUILD FROM debian:bookworm-slim

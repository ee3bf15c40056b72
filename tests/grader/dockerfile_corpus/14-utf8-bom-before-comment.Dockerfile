# a comment first
FROM debian:bookworm-slim
LABEL a=b

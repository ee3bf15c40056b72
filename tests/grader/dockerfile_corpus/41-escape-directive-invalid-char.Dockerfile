# escape=x
FROM debian:bookworm-slim
LABEL a=b

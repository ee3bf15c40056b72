FROM debian:bookworm-slim
\
LABEL a=b

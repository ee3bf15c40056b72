FROM debian:bookworm-slim
LABEL a=b
RUN echo last \

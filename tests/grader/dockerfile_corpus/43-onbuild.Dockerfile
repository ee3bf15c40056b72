FROM debian:bookworm-slim
ONBUILD RUN echo child
ONBUILD COPY hello.txt /

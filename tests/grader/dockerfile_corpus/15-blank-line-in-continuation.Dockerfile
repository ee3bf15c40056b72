FROM debian:bookworm-slim
RUN echo one \

    && echo two
LABEL a=b

FROM debian:bookworm-slim
RUN echo one \
    # an indented comment
    && echo two
LABEL a=b

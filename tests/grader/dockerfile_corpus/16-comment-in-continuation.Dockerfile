FROM debian:bookworm-slim
RUN echo one \
# a comment between continuation lines
    && echo two
LABEL a=b

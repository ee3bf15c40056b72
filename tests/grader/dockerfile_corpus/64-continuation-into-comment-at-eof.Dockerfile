FROM debian:bookworm-slim
LABEL a=b \
# the last line is a comment

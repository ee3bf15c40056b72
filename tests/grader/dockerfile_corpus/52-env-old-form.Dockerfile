FROM debian:bookworm-slim
ENV greeting hello world
ENV a=1 b="two words" \
    c=3

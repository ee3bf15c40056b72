FROM debian:bookworm-slim
LABEL a=1 b="two words" \
      c='single' "d e"=4

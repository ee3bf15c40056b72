FROM --platform=$BUILDPLATFORM debian:bookworm-slim
LABEL a=b

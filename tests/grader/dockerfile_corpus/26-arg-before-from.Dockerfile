ARG BASE=debian:bookworm-slim
ARG UNUSED
FROM ${BASE}
ARG BASE
LABEL base=${BASE}

FROM --platform=linux/amd64 debian:bookworm-slim AS base
LABEL a=b

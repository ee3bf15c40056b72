FROM debian:bookworm-slim
RUN --mount=type=cache,target=/var/cache/corpus true

FROM debian:bookworm-slim AS same
LABEL a=1
FROM debian:bookworm-slim AS same
LABEL b=2

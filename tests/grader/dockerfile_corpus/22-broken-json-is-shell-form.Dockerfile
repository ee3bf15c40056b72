FROM debian:bookworm-slim
CMD ["echo", "hi"
ENTRYPOINT ['echo', 'single quotes are not JSON']
HEALTHCHECK CMD ["true",]

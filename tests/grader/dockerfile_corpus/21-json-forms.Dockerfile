FROM debian:bookworm-slim
HEALTHCHECK --interval=30s CMD ["true"]
ENTRYPOINT ["/bin/echo", "hello"]
CMD ["world"]
RUN ["true"]

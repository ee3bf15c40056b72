FROM debian:bookworm-slim AS build
RUN echo built > /built.txt
FROM debian:bookworm-slim
COPY --from=0 /built.txt /a.txt
COPY --from=build --chown=nobody:nogroup /built.txt /b.txt

FROM debian:bookworm-slim as Builder
RUN echo built > /built.txt
FROM builder AS final
COPY --from=BUILDER /built.txt /copy.txt
USER nobody

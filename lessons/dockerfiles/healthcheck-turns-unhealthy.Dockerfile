# Lesson 10: a container that turns unhealthy on purpose. The check passes until /tmp/sick exists; the
# main process creates it after 4 s and keeps running. Docker marks the container unhealthy and does nothing
# else: it is not restarted, even with --restart=always.
FROM debian:bookworm-slim
HEALTHCHECK --interval=2s --timeout=1s --start-period=3s --retries=2 CMD ["test", "!", "-e", "/tmp/sick"]
CMD ["sh", "-c", "sleep 4; touch /tmp/sick; exec sleep 600"]

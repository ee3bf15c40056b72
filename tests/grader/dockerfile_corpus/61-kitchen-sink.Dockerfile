ARG TAG=bookworm-slim
FROM debian:${TAG}
ARG VERSION=1
ENV APP_HOME=/srv/app PATH=/srv/app/bin:$PATH
WORKDIR ${APP_HOME}
ADD hello.txt ./
COPY hello.txt ./copy.txt
RUN echo "${VERSION}" # not a comment
VOLUME ["/data"]
VOLUME /cache /tmp/x
EXPOSE 3000/tcp 3001/udp
STOPSIGNAL SIGTERM
USER 10001:10001
SHELL ["/bin/sh", "-c"]
CMD echo done

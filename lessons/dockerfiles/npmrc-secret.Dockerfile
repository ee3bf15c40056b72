# Lesson 10: the same step with a BuildKit secret mount. The file exists at /root/.npmrc for this one RUN
# only; no layer holds it. Build with:
#   docker buildx build --secret id=npmrc,src=PATH/TO/npmrc -f npmrc-secret.Dockerfile CONTEXT
FROM node:20-slim
RUN --mount=type=secret,id=npmrc,target=/root/.npmrc \
    npm config get build-from-source > /build-from-source.txt

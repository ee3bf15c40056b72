# Lesson 10: the same install with BuildKit mounts. The two manifests are bind-mounted for this RUN only, and
# npm's cache lives in a cache mount: kept by the builder for the next build, in no layer. BuildKit only.
FROM node:20-slim
WORKDIR /app
RUN --mount=type=bind,source=package.json,target=/app/package.json \
    --mount=type=bind,source=package-lock.json,target=/app/package-lock.json \
    --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts

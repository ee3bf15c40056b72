# Reference solution: node-api.
# Build (the context is the app folder, with this file's .dockerignore at its root):
#   docker build -t node-api:slim -f solutions/node-api/Dockerfile apps/node-api
#
# Three stages:
#   build    - full node:20 (python3, make, g++): npm ci compiles bcrypt, tsc compiles src/,
#              then devDependencies are pruned away (npm prune leaves
#              empty @scope folders behind; they are removed too), and so are the
#              READMEs, type declarations and source maps the packages ship.
#   runtime  - strips the node binary's debug symbols (~12 MB saved).
#   final    - debian:bookworm-slim + the node binary + dist/ + production node_modules.
#              node:20-slim would be simpler, but on these bases it alone is over 200 MB because
#              it carries npm and node's C headers, none of which a running app needs.

# ---------- build: everything needed to compile, nothing of it ships ----------
FROM node:20 AS build
WORKDIR /app

# Dependencies first, so this layer stays cached until package*.json or .npmrc change.
COPY package.json package-lock.json .npmrc ./
RUN npm ci

COPY tsconfig.json ./
COPY src ./src
RUN npm run build \
 && find dist -name '*.map' -delete \
 && npm prune --omit=dev \
 && find node_modules -mindepth 1 -maxdepth 1 -type d -name '@*' -empty -delete \
 && find node_modules -type f \( -name '*.md' -o -name '*.markdown' -o -name '*.d.ts' -o -name '*.map' \) \
      ! -iname 'license*' -delete \
 && npm cache clean --force

# ---------- runtime: just the node executable, without debug symbols ----------
FROM node:20 AS runtime
RUN strip --strip-all -o /node /usr/local/bin/node

# ---------- final image ----------
FROM debian:bookworm-slim

RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --no-create-home --no-log-init --shell /usr/sbin/nologin app

COPY --from=runtime /node /usr/local/bin/node

WORKDIR /app
# Owned by root and read-only for the app user: the process cannot rewrite its own code.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist

ENV NODE_ENV=production \
    PORT=3000

# Numeric, so that a runtime which checks "non-root" before starting (e.g. Kubernetes'
# runAsNonRoot) can verify it without reading /etc/passwd: 10001 is the `app` user created above.
USER 10001:10001
EXPOSE 3000

# node is the only tool in the image that can make an HTTP request, so the probe is written in it.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "require('http').get('http://127.0.0.1:'+(process.env.PORT||3000)+'/health',r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"]

CMD ["node", "dist/main.js"]

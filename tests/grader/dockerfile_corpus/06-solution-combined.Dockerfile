# Reference solution: combined (React frontend + Express backend in one container).
# Build (the context is the app folder, with this file's .dockerignore at its root):
#   docker build -t combined:slim -f solutions/combined/Dockerfile apps/combined
#
# Stages:
#   frontend - node:20-slim is enough: vite/esbuild need no compiler. Output: static files.
#   backend  - node:20: npm ci, tsc, then prune the devDependencies (typescript, jest,
#              nodemon...), the empty @scope folders npm prune leaves behind, and the
#              READMEs, type declarations and source maps the packages ship.
#   runtime  - the node binary without its debug symbols.
#   final    - debian:bookworm-slim + node + backend dist/ + production node_modules + public/.

# ---------- frontend: build the React app into static files ----------
FROM node:20-slim AS frontend
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci
COPY frontend/ ./
RUN npm run build \
 && find dist -name '*.map' -delete

# ---------- backend: compile TypeScript, keep production dependencies only ----------
FROM node:20 AS backend
WORKDIR /src/backend
COPY backend/package.json backend/package-lock.json ./
RUN npm ci
COPY backend/tsconfig.json ./
COPY backend/src ./src
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
COPY --from=backend /src/backend/package.json ./package.json
COPY --from=backend /src/backend/node_modules ./node_modules
COPY --from=backend /src/backend/dist ./dist
# The server looks for the frontend in a public/ folder beside dist/.
COPY --from=frontend /src/frontend/dist ./public

ENV NODE_ENV=production \
    PORT=3000

# Numeric, so that a runtime which checks "non-root" before starting (e.g. Kubernetes'
# runAsNonRoot) can verify it without reading /etc/passwd: 10001 is the `app` user created above.
USER 10001:10001
EXPOSE 3000

HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "require('http').get('http://127.0.0.1:'+(process.env.PORT||3000)+'/health',r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"]

CMD ["node", "dist/server.js"]

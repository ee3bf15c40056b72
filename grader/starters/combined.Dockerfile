# Exercise: combined - the starting point.
#
# A React frontend (Vite) and an Express backend built and run in ONE stage on the full node:20
# image. Both dependency trees (with all their devDependencies: vite, typescript, jest, nodemon ...)
# stay in the image, and so does everything else in the folder. Build it and measure it:
#
#   docker build -t combined:naive -f exercises/combined/Dockerfile apps/combined
#   docker image inspect -f '{{.Size}}' combined:naive
#
# Your goal: a multi-stage Dockerfile (plus Dockerfile.dockerignore beside it) whose image is at most 220 MB, with
# the backend serving GET /health and the built React page at GET /, and nothing but the compiled
# backend, its production dependencies and the built frontend on top of a Node.js runtime;
# non-root, with a HEALTHCHECK.

FROM node:20

WORKDIR /app
COPY . .

# Frontend: install everything, build static files into frontend/dist.
RUN cd frontend && npm ci && npm run build

# Backend: install everything, compile to backend/dist, and put the frontend where the server
# looks for it: a public/ folder beside dist/.
RUN cd backend && npm ci && npm run build && cp -r ../frontend/dist ./public

ENV PORT=3000
EXPOSE 3000
CMD ["node", "backend/dist/server.js"]

# Exercise: node-api - the starting point.
#
# This is how most Node.js images begin life: one stage, the full node:20 image, every dependency
# (devDependencies too), the whole folder copied in, and the container running as root.
# It works. Build it, measure it, then make it small:
#
#   docker build -t node-api:naive -f exercises/node-api/Dockerfile apps/node-api
#   docker image inspect -f '{{.Size}}' node-api:naive
#
# Your goal: a multi-stage Dockerfile (plus Dockerfile.dockerignore beside it) whose image is at most 220 MB, still
# answers GET /health with 200 and "bcrypt": true, and ships no compiler, no devDependencies, no
# caches, no .env files, no sources or tests, runs as a non-root user and has a HEALTHCHECK.

FROM node:20

WORKDIR /app

# bcrypt is compiled from source during `npm ci` (see .npmrc), so the package files and .npmrc
# go in first. node:20 happens to ship python3, make and g++, which is why this works at all.
COPY package.json package-lock.json .npmrc ./
RUN npm ci

# Everything else in the folder: sources, tests, docs, README, .env.production ...
COPY . .
RUN npm run build

EXPOSE 3000
CMD ["npm", "start"]

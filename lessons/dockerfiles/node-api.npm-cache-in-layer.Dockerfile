# Lesson 10: node-api's dependencies installed the usual way: npm keeps its download cache in /root/.npm, and
# that cache lands in the RUN's layer. `--ignore-scripts` skips bcrypt's compile: this lesson measures the cache.
FROM node:20-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts

# Lesson 02: the production-stage pattern from the article, rebuilt on this workshop's bases.
#
# The article builds on node:20-alpine; here the builder is node:20 (it has the python3, make and g++ that
# bcrypt needs) and the final stage node:20-slim. What matters is kept as the article has it: the final stage
# takes the builder's WHOLE node_modules (devDependencies included) and copies .env.production into the image.
# There is no .dockerignore beside this file, as in the article's example. Grade it from lesson 02.

FROM node:20 AS builder
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci
COPY . .
RUN npm run build

FROM node:20-slim AS production
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=builder /app/dist ./dist
# The two lines lesson 02 is about:
COPY --from=builder /app/node_modules ./node_modules
COPY .env.production ./
USER node
EXPOSE 3000
CMD ["node", "dist/main.js"]

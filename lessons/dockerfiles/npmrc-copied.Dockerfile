# Lesson 10: a build step that needs a secret (an .npmrc with an auth token), done the wrong way.
# The COPY puts the file in a layer; the `rm` in the next layer only hides it. Anyone with the image can
# read the token from the COPY's layer (`docker save`, then tar).
FROM node:20-slim
COPY npmrc /root/.npmrc
RUN npm config get build-from-source > /build-from-source.txt && rm /root/.npmrc

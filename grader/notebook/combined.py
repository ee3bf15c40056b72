"""Lesson 04, frontend and backend: the article's alternative, two images, measured beside the one combined image.
The frontend image is what teams deploy for a static build (its files served by nginx on a slim Debian, the shape
of the official nginx image), not a Node image running Vite's preview server; the backend is the article's
"before", one stage on node:20."""

from __future__ import annotations

from dataclasses import dataclass

from grader.notebook.image_api import LessonImage, build_app_image, shared_base_bytes
from grader.paths import APPS_DIR

__all__ = [
    "BACKEND_IMAGE",
    "FRONTEND_IMAGE",
    "TwoImages",
    "two_image_experiment",
]

FRONTEND_IMAGE = """\
FROM node:20 AS build
WORKDIR /app
COPY frontend/ ./
RUN npm ci && npm run build

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends nginx-light \\
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /app/dist /var/www/html
EXPOSE 80
CMD ["nginx", "-g", "daemon off;"]
"""
BACKEND_IMAGE = """\
FROM node:20
WORKDIR /app
COPY backend/ ./
RUN npm ci && npm run build
EXPOSE 3000
CMD ["npm", "start"]
"""
#: Bases whose layers two lesson images may share (a node stores a shared layer once).
SHARED_BASE_CANDIDATES = ("debian:bookworm-slim", "node:20-slim", "node:20")


@dataclass(frozen=True)
class TwoImages:
    frontend: LessonImage
    backend: LessonImage
    shared_bytes: int  # the largest base whose layers both images start with (0 when they share none)

    @property
    def total_bytes(self) -> int:
        """What `docker images` adds up: the two sizes."""
        return self.frontend.size_bytes + self.backend.size_bytes

    @property
    def distinct_bytes(self) -> int:
        """What one node stores when it pulls both: shared base layers once."""
        return self.total_bytes - self.shared_bytes


def two_image_experiment() -> TwoImages:
    """Build the static frontend image and the single-stage backend image (minutes the first time)."""
    context = APPS_DIR / "combined"
    frontend = build_app_image("combined-frontend-static", FRONTEND_IMAGE, context)
    backend = build_app_image("combined-backend-only", BACKEND_IMAGE, context)
    return TwoImages(frontend, backend, shared_base_bytes(frontend.tag, backend.tag, SHARED_BASE_CANDIDATES))

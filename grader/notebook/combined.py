"""Lesson 04, frontend and backend: the article's alternative, two naive images (a frontend image that serves
its build with Vite's preview server, a backend image), measured beside the one combined image."""

from __future__ import annotations

from dataclasses import dataclass

from grader.notebook.image_api import LessonImage, build_app_image, local_images
from grader.paths import APPS_DIR

__all__ = [
    "BACKEND_IMAGE",
    "FRONTEND_IMAGE",
    "TwoImages",
    "two_image_experiment",
]

FRONTEND_IMAGE = """\
FROM node:20
WORKDIR /app
COPY frontend/ ./
RUN npm ci && npm run build
EXPOSE 4173
CMD ["npx", "vite", "preview", "--host", "0.0.0.0"]
"""
BACKEND_IMAGE = """\
FROM node:20
WORKDIR /app
COPY backend/ ./
RUN npm ci && npm run build
EXPOSE 3000
CMD ["npm", "start"]
"""


@dataclass(frozen=True)
class TwoImages:
    frontend: LessonImage
    backend: LessonImage
    base_bytes: int  # node:20, which both images start from

    @property
    def total_bytes(self) -> int:
        """What `docker images` adds up: the two sizes."""
        return self.frontend.size_bytes + self.backend.size_bytes

    @property
    def distinct_bytes(self) -> int:
        """What one node stores when it pulls both: the shared node:20 layers once."""
        return self.total_bytes - self.base_bytes


def two_image_experiment() -> TwoImages:
    """Build the frontend and the backend as two single-stage images on node:20 (minutes the first time)."""
    context = APPS_DIR / "combined"
    frontend = build_app_image("combined-frontend-only", FRONTEND_IMAGE, context)
    backend = build_app_image("combined-backend-only", BACKEND_IMAGE, context)
    return TwoImages(frontend, backend, local_images(["node:20"])[0].size_bytes or 0)

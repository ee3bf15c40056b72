"""Where each lesson lives; a check's `lesson` points into one of these (a meta-test keeps them in step)."""

from __future__ import annotations

__all__ = ["LESSONS", "lesson"]

LESSONS: dict[str, str] = {
    "fat": "lessons/01-why-images-get-fat.ipynb",
    "multi-stage": "lessons/02-multi-stage-node.ipynb",
    "python": "lessons/03-python-fastapi.ipynb",
    "combined": "lessons/04-combined.ipynb",
    "principles": "lessons/05-principles-and-mistakes.ipynb",
    "mistakes": "lessons/05-principles-and-mistakes.ipynb",
    "numbers": "lessons/06-measuring.ipynb",
    "beyond": "lessons/08-beyond-the-article.ipynb",
}


def lesson(key: str, section: str) -> str:
    """'lessons/02-multi-stage.ipynb#Copy only artifacts' - a notebook and the heading to read."""
    return f"{LESSONS[key]}#{section}"

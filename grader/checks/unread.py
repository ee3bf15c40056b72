"""What the checks say when the grader could not read the whole image.

The grader reads an image only within bounds of its own (grader/engine/layer_index.py): past them, ImageFacts says
what it did not read. A check that must see every path, or every package, then fails with that reason rather than
pass on part of the image. This module registers no check, so importing it leaves the report order alone.
"""

from __future__ import annotations

from grader.model import ImageFacts
from grader.registry import Outcome

__all__ = ["PACKAGE_DATABASES", "unindexed_outcome"]

#: The package databases that `no-compilers` reads, as `ImageFacts.truncated_files` names them.
PACKAGE_DATABASES = ("/var/lib/dpkg/", "/lib/apk/")


def unindexed_outcome(image: ImageFacts, what: str, files: tuple[str, ...] = ()) -> Outcome | None:
    """A failed Outcome when the grader could not list every path of the image, or read one of the `files` (path
    prefixes) only in part (a bound of grader/engine/layer_index.py was reached): a check that must see
    everything cannot pass on part of it."""
    cut = [name for name in image.truncated_files if name.startswith(files)] if files else []
    if image.unindexed is None and not cut:
        return None
    reason = (f"it could not list every file of the image ({image.unindexed})" if image.unindexed is not None
              else f"it read {cut[0]} only in part")
    return Outcome(False, "not read whole", f"{what}, over the whole image",
                   f"The grader cannot tell whether {what}: {reason}.",
                   hint="Ship only what the app needs: a real image holds tens of thousands of files with short "
                        "paths, and system files of a few kB.")

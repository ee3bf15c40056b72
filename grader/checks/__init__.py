"""The checks, one small pure function each, registered in report order by importing their modules.

Every check reads only an Evidence (frozen facts) and returns an Outcome; none talks to Docker.
The import order below IS the report order (size first, then security, ...): keep it, do not sort it.
"""

# isort: skip_file
from __future__ import annotations

from grader.checks import size  # noqa: F401  builds, size, beats-article, reduction
from grader.checks import security  # noqa: F401  non-root, no-compilers
from grader.checks import health  # noqa: F401  healthcheck, healthcheck-meaningful
from grader.checks import app  # noqa: F401  app-works
from grader.checks import contents  # noqa: F401  no-dev-dependencies, no-caches, no-junk, no-secrets
from grader.checks import structure  # noqa: F401  multi-stage, layer-waste, context-size, lint

"""The checks, one small pure function each, registered in report order by importing their modules.

Every check reads only an Evidence (frozen facts) and returns an Outcome; none talks to Docker.
"""

from __future__ import annotations

from grader.checks import size, security, health, contents, structure  # noqa: F401 - order = report order

"""Lesson 03, the Python version: `pip install --user` under a non-root user, and psycopg2 failing without
pg_config, then built with libpq-dev in the builder only."""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from dataclasses import dataclass

from grader.errors import GradeError
from grader.notebook.image_api import LessonImage, build_image, run_command

__all__ = [
    "PSYCOPG2",
    "PSYCOPG2_FIXED",
    "PSYCOPG2_NO_LIBPQ_DEV",
    "Psycopg2Experiment",
    "RunResult",
    "USER_INSTALL",
    "VENV_INSTALL",
    "psycopg2_experiment",
    "tiny_wheel",
    "user_install_experiment",
]


def tiny_wheel(name: str = "greeting", version: str = "1.0") -> tuple[str, bytes]:
    """A pure-Python wheel built in memory, so `pip install` works offline in the lesson's images."""
    module = f'def hello():\n    return "hello from {name}"\n'.encode()
    dist = f"{name}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    wheel = b"Wheel-Version: 1.0\nGenerator: docker-diet-workshop\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files = {f"{name}.py": module, f"{dist}/METADATA": metadata, f"{dist}/WHEEL": wheel}

    def record_hash(data: bytes) -> str:
        return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

    record = "".join(f"{path},{record_hash(data)},{len(data)}\n" for path, data in files.items())
    record += f"{dist}/RECORD,,\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, data in {**files, f"{dist}/RECORD": record.encode()}.items():
            archive.writestr(zipfile.ZipInfo(path, (2024, 1, 1, 0, 0, 0)), data)
    return f"{name}-{version}-py3-none-any.whl", buffer.getvalue()


_FINAL = """
FROM python:3.11-slim
RUN useradd --create-home --uid 10001 app
{copy}
USER app
CMD ["python", "-c", "import greeting; print(greeting.hello())"]
"""
USER_INSTALL = ("FROM python:3.11-slim AS builder\nCOPY {wheel} /tmp/\n"
                "RUN pip install --user --no-index --no-cache-dir /tmp/{wheel}\n"
                + _FINAL.format(copy="COPY --from=builder /root/.local /root/.local\nENV PATH=/root/.local/bin:$PATH"))
VENV_INSTALL = ("FROM python:3.11-slim AS builder\nCOPY {wheel} /tmp/\n"
                "RUN python -m venv /opt/venv && /opt/venv/bin/pip install --no-index --no-cache-dir /tmp/{wheel}\n"
                + _FINAL.format(copy="COPY --from=builder /opt/venv /opt/venv\nENV PATH=/opt/venv/bin:$PATH"))


@dataclass(frozen=True)
class RunResult:
    dockerfile: str
    exit_code: int
    output: str


def user_install_experiment() -> dict[str, RunResult]:
    """`pip install --user` copied from /root/.local, then run as a non-root user; and the venv fix."""
    wheel_name, wheel = tiny_wheel()
    results = {}
    for name, template in (("pip-user", USER_INSTALL), ("venv", VENV_INSTALL)):
        dockerfile = template.format(wheel=wheel_name)
        image = build_image(f"python-{name}", dockerfile, {wheel_name: wheel})
        code, output = run_command(image.tag)
        results[name] = RunResult(dockerfile, code, output.splitlines()[-1] if output else "")
    return results


PSYCOPG2 = "psycopg2==2.9.10"  # as apps/fastapi/requirements.txt pins it: the source distribution
PSYCOPG2_NO_LIBPQ_DEV = f"""\
FROM python:3.11-slim AS builder
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir {PSYCOPG2}
"""
PSYCOPG2_FIXED = f"""\
FROM python:3.11-slim AS builder
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev libpq-dev
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir {PSYCOPG2}

FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 && rm -rf /var/lib/apt/lists/*
COPY --from=builder /opt/venv /opt/venv
CMD ["/opt/venv/bin/python", "-c", "import psycopg2; print('psycopg2', psycopg2.__version__)"]
"""


@dataclass(frozen=True)
class Psycopg2Experiment:
    failure: str  # the grader's message for the build without libpq-dev
    log_tail: tuple[str, ...]
    fixed: LessonImage
    fixed_output: str
    tools_in_final: str  # what `command -v gcc pg_config` finds in the final image (nothing)


def psycopg2_experiment() -> Psycopg2Experiment:
    """Build psycopg2 without libpq-dev (fails: no pg_config), then with libpq-dev in the builder only."""
    failure, tail = "the build unexpectedly worked", tuple[str, ...]()
    try:
        build_image("psycopg2-no-libpq-dev", PSYCOPG2_NO_LIBPQ_DEV)
    except GradeError as error:
        failure, tail = error.message, tuple(error.log_tail or ())
    fixed = build_image("psycopg2-fixed", PSYCOPG2_FIXED)
    _, output = run_command(fixed.tag)
    _, tools = run_command(fixed.tag, ["sh", "-c", "command -v gcc pg_config || echo none"])
    return Psycopg2Experiment(failure, tail, fixed, output, tools)

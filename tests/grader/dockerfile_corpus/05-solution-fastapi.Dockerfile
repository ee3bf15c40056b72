# Reference solution: fastapi.
# Build (the context is the app folder, with this file's .dockerignore at its root):
#   docker build -t fastapi:slim -f solutions/fastapi/Dockerfile apps/fastapi
#
#   build - python:3.11-slim plus gcc and libpq-dev, only here: pip compiles psycopg2 into a
#           virtual environment at /opt/venv. pip itself is then removed from the venv, the
#           compiled extensions are stripped of debug symbols, and no .pyc files are kept
#           (they are ~6 MB here; the price is a slightly slower first import at start-up), nor
#           the test suites some libraries ship inside their packages.
#   final - python:3.11-slim plus libpq5 (the one shared library psycopg2 needs at run time),
#           the venv and the app/ package. No compiler, no headers, no pip cache, no apt lists.
#
# Why a venv and not `pip install --user`: --user puts packages under /root/.local, which a
# non-root USER cannot read. A venv at /opt/venv is readable by everyone and moves as one folder.

# ---------- build ----------
FROM python:3.11-slim AS build

# Unpinned on purpose: Debian replaces a package version on each security update, so an
# exact `=version` pin would break the build the next time libpq or gcc is patched.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev libpq-dev \
 && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY requirements.txt ./
RUN pip install --no-compile -r requirements.txt \
 && pip uninstall -y pip setuptools \
 && find /opt/venv -name '*.so' -exec strip --strip-unneeded {} + \
 && PYTHONDONTWRITEBYTECODE=1 python -c "import psycopg2, fastapi, uvicorn; print('psycopg2', psycopg2.__version__)" \
 && find /opt/venv -name '__pycache__' -type d -prune -exec rm -rf {} + \
 && find /opt/venv/lib/python3.11/site-packages -mindepth 2 -maxdepth 2 -name tests -type d -prune -exec rm -rf {} +

# ---------- final ----------
FROM python:3.11-slim

# libpq5 only (no -dev), and the package lists go away in the same layer.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --no-create-home --no-log-init --shell /usr/sbin/nologin app

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
COPY app ./app

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

# Numeric, so that a runtime which checks "non-root" before starting (e.g. Kubernetes'
# runAsNonRoot) can verify it without reading /etc/passwd: 10001 is the `app` user created above.
USER 10001:10001
EXPOSE 8000

# No curl in a slim image: the probe is a line of Python against the container's own loopback.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2).status == 200 else 1)"]

CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000"]

# Lesson 10: the fastapi build stage as many Dockerfiles write it: requirements.txt copied in, and pip's
# download cache (/root/.cache/pip) left in the layer that installs. Compare with fastapi.mounts.Dockerfile.
FROM python:3.11-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev libpq-dev \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements.txt /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt

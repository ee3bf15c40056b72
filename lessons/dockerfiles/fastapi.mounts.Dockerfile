# Lesson 10: BuildKit mounts and a test stage, on the fastapi app (context: apps/fastapi).
#   - a bind mount lends requirements.txt to one RUN (no COPY, no layer holds it);
#   - a cache mount keeps pip's downloads between builds, outside every layer;
#   - the `test` stage installs the test tools and runs the app's own tests; build it with `--target test`.
#     The final stage does not depend on it, so a default build skips it and ships no pytest.
# BuildKit only: the classic builder does not understand `--mount`.
FROM python:3.11-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev libpq-dev \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN --mount=type=bind,source=requirements.txt,target=/tmp/requirements.txt \
    --mount=type=cache,target=/root/.cache/pip \
    pip install -r /tmp/requirements.txt

FROM build AS test
WORKDIR /src
RUN --mount=type=bind,source=requirements.txt,target=/src/requirements.txt \
    --mount=type=bind,source=requirements-dev.txt,target=/src/requirements-dev.txt \
    --mount=type=cache,target=/root/.cache/pip \
    pip install -r requirements-dev.txt
COPY app ./app
COPY tests ./tests
RUN python -m pytest -q -p no:cacheprovider tests

FROM python:3.11-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY app ./app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1
USER 10001
EXPOSE 8000
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000"]

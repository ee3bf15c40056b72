# Exercise: fastapi - the starting point.
#
# One stage on the full python:3.11 image (compilers included), the whole folder copied in, and
# the container running as root. Build it and measure it:
#
#   docker build -t fastapi:naive -f exercises/fastapi/Dockerfile apps/fastapi
#   docker image inspect -f '{{.Size}}' fastapi:naive
#
# Your goal: a multi-stage Dockerfile (plus Dockerfile.dockerignore beside it) whose image is at most 190 MB, still
# answers GET /health with 200 and shows psycopg2 and libpq loaded, and ships no compiler, no
# pip cache, no apt lists, no .env files, no tests or docs, runs as a non-root user and has a
# HEALTHCHECK.

FROM python:3.11

WORKDIR /app

# psycopg2 is built from source: it needs a C compiler and the libpq headers.
RUN apt-get update && apt-get install -y gcc libpq-dev

# The whole folder: app code, tests, docs, README, .env.production ...
COPY . .
RUN pip install -r requirements.txt

EXPOSE 8000
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000"]

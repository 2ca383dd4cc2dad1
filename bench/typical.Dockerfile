# syntax=docker/dockerfile:1.7
# A typical two-stage build of a Python web service.

ARG PYTHON_VERSION=3.12
ARG DEBIAN_SUITE=bookworm

FROM python:${PYTHON_VERSION}-slim-${DEBIAN_SUITE} AS build
ARG PIP_INDEX_URL
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src

# Compilers and headers are needed only to build the wheels.
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \
    --mount=type=cache,target=/var/lib/apt,sharing=locked \
    apt-get update && apt-get install -y --no-install-recommends \
        build-essential \
        libpq-dev \
        git \
    && rm -rf /var/lib/apt/lists/*

COPY pyproject.toml setup.cfg ./
COPY src/ ./src/
RUN --mount=type=cache,target=/root/.cache/pip \
    python -m venv /opt/venv \
    && /opt/venv/bin/pip install --upgrade pip wheel \
    && /opt/venv/bin/pip install .

# The runtime stage gets the virtualenv, not the compilers.
FROM python:${PYTHON_VERSION}-slim-${DEBIAN_SUITE} AS runtime
LABEL org.opencontainers.image.title="example-service" \
      org.opencontainers.image.source="https://example.com/service.git" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH="/opt/venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    APP_HOME=/app
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system app \
    && useradd --system --gid app --home-dir "$APP_HOME" app
COPY --from=build /opt/venv /opt/venv
COPY --chown=app:app config/ /etc/service/
COPY <<EOF /etc/service/logging.ini
[loggers]
keys=root
[logger_root]
level=INFO
EOF
WORKDIR $APP_HOME
VOLUME ["/app/data"]
EXPOSE 8000/tcp
USER app
HEALTHCHECK --interval=30s --timeout=3s --retries=3 \
    CMD curl -fsS http://localhost:8000/healthz || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["/opt/venv/bin/gunicorn", "--bind", "0.0.0.0:8000"]
CMD ["service.wsgi:app"]
ONBUILD COPY . /app/plugins

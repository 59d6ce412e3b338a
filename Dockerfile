# One image for every role, chosen by the command: web (default), worker, beat, release (the
# migrations, run once per deploy), or any command (`python manage.py createsuperuser`).
# Build with `make image` (docs/deploy.md).
ARG BASE_IMAGE=python:3.11-slim-bookworm

# Builder: the dependencies as wheels, installed into a virtualenv that the runtime copies.
# Neither the wheels nor pip's certificate bundle (a BuildKit secret) reach the runtime image.
FROM ${BASE_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
# `python3 -m venv` works alike on the official image (/usr/local/bin) and Debian's (/usr/bin).
RUN python3 -m venv /opt/venv
WORKDIR /build
COPY pyproject.toml .
# Only pyproject.toml decides this layer, so a code change reuses the installed dependencies.
RUN python3 -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"], sep="\n")' > requirements.txt
RUN --mount=type=secret,id=pip-cert,required=false \
    --mount=type=cache,target=/root/.cache/pip \
    if [ -s /run/secrets/pip-cert ]; then export PIP_CERT=/run/secrets/pip-cert; fi \
    && /opt/venv/bin/pip wheel --wheel-dir /build/wheels -r requirements.txt \
    && /opt/venv/bin/pip install --no-index --find-links /build/wheels -r requirements.txt

FROM ${BASE_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATA_DIR=/var/lib/securemyspot \
    PORT=8000
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /app app \
    && install -d -o app -g app /var/lib/securemyspot
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
# The code is owned by root, so the service cannot change it; only DATA_DIR is writable.
COPY . .
RUN python3 -m compileall -q /app
USER app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=15s --start-period=30s --retries=3 \
    CMD ["python3", "/app/docker/healthcheck.py"]
ENTRYPOINT ["/app/docker/entrypoint"]
CMD ["web"]

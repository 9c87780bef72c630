# engine in a container: the engine with its runtime extras (s3, sftp, parquet, aws, otel), installed
# from the hashed image lock, run as a non-root user. See docs/deployment.md.
#
#   docker build -t engine .
#   docker run --rm -v "$PWD:/work" engine validate connectors/
#   docker run -d -p 8080:8080 -v "$PWD:/work" -v engine-state:/var/lib/engine \
#       engine serve --host 0.0.0.0 connectors/webhook-order-status/webhook-order-status.yaml

FROM python:3.11.13-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY requirements-image.lock ./
# every dependency at the version and hash the lock names, nothing resolved at build time
RUN python -m venv /opt/engine \
    && /opt/engine/bin/python -m pip install --require-hashes --no-deps -r requirements-image.lock
COPY pyproject.toml README.md LICENSE ./
COPY engine ./engine
RUN /opt/engine/bin/python -m pip install --no-deps --no-build-isolation . \
    && /opt/engine/bin/python -m pip check \
    && /opt/engine/bin/engine version

FROM python:3.11.13-slim-bookworm
ENV PATH=/opt/engine/bin:$PATH \
    ENGINE_STATE_DIR=/var/lib/engine \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN groupadd --system --gid 10001 engine \
    && useradd --system --uid 10001 --gid engine --home-dir /work --no-create-home engine \
    && mkdir -p /work /var/lib/engine \
    && chown engine:engine /work /var/lib/engine
COPY --from=build /opt/engine /opt/engine
USER 10001:10001
WORKDIR /work
VOLUME ["/var/lib/engine"]
EXPOSE 8080
# for `engine serve` (on port 8080): healthy while /health answers 200; start one-shot commands
# such as `engine run` with --no-healthcheck
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8080/health', timeout=4)"]
ENTRYPOINT ["engine"]
CMD ["--help"]

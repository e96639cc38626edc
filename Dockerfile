# The image k8s/ names (ghcr.io/kloudvault/kloudvault): `docker build -t IMAGE .`
# It runs as an unprivileged user and writes only to /data and /tmp, so the Deployment
# can mount a read-only root filesystem.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml setup.cfg README.md ./
COPY gateway ./gateway
COPY backends ./backends
COPY auth ./auth
COPY lifecycle ./lifecycle
COPY conformance ./conformance
COPY bench ./bench
RUN python -m venv /opt/kloudvault \
    && /opt/kloudvault/bin/pip install --no-cache-dir .

FROM python:3.11-slim
ENV PATH=/opt/kloudvault/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    KLOUDVAULT_LISTEN=0.0.0.0:7373 \
    KLOUDVAULT_DATA_DIR=/data
COPY --from=build /opt/kloudvault /opt/kloudvault
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /data kloudvault \
    && mkdir -p /data \
    && chown 10001:10001 /data
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 7373 9090
ENTRYPOINT ["kloudvault", "serve"]

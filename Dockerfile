# Firn in a container: `firn run` on a data volume, the dashboard on :8080.
#
#   docker build -t firn .
#   docker run -e FIRN_HTTP_TOKEN=$(openssl rand -hex 16) -p 8080:8080 -v firn-data:/data firn
#
# The compile stage builds a static binary (the Swift runtime inside). BINARY_STAGE lets a
# binary built elsewhere stand in for it (the container test does, with the host's build).
ARG BINARY_STAGE=compile

FROM swift:6.3-bookworm AS compile
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product firn --static-swift-stdlib \
    && mkdir -p /firn/bin \
    && cp "$(swift build -c release --show-bin-path)/firn" /firn/bin/firn

FROM ${BINARY_STAGE} AS binary

FROM debian:bookworm-slim AS runtime
# SQLite is the embedded warehouse; curl answers the health check; tini is not needed:
# firn handles SIGTERM itself as PID 1 (it finishes the work in flight and exits). Versions
# are not pinned: the image takes bookworm's security updates when it is rebuilt.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libsqlite3-0 libxml2 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /data firn \
    && mkdir -p /data \
    && chown firn:firn /data
COPY --from=binary /firn/ /opt/firn/
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
# Any address other than loopback needs a token: set FIRN_HTTP_TOKEN (16 characters or more).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s \
    CMD ["sh", "-c", "curl -fsS -H \"Authorization: Bearer ${FIRN_HTTP_TOKEN}\" http://127.0.0.1:8080/healthz || exit 1"]
ENTRYPOINT ["/opt/firn/bin/firn", "run", "--data-dir", "/data", "--http", "0.0.0.0:8080"]

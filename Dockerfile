# syntax=docker/dockerfile:1
# flag-server in a container: a Rust build stage and a small Debian runtime that runs the server
# as an unprivileged user. docs/deploy.md explains the choices (why bookworm-slim with curl and
# not distroless) and how to run it.
#
#   docker build -t flag-server .
#   docker run --rm -p 8080:8080 -e FLAG_ADMIN_TOKEN=... -v flag-data:/var/lib/flag-server flag-server

ARG RUST_VERSION=1

# ---- build ----------------------------------------------------------------------------------
FROM rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
# The whole workspace (.dockerignore leaves out target/, .git and local data): cargo reads every
# member's manifest even when it builds one package.
COPY . .
# Cargo's registry, git checkouts and the target directory are cache mounts, so a rebuild after
# a source change recompiles only what changed. A cache mount is not part of the image: the
# binary is copied out of it in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release -p flag-server --locked \
    && install -D -m 0755 target/release/flag-server /out/flag-server

# ---- runtime --------------------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime
# curl is for HEALTHCHECK only (see docs/deploy.md); ca-certificates for TLS to Redis
# (rediss://) and to an edge's upstream (https://).
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 flag \
    && useradd --system --uid 10001 --gid flag --home-dir /var/lib/flag-server \
        --no-create-home --shell /usr/sbin/nologin flag \
    && install -d -o flag -g flag -m 0750 /var/lib/flag-server
COPY --from=build /out/flag-server /usr/local/bin/flag-server

# A container must listen on all interfaces (the server's own default is 127.0.0.1:8080).
# The embedded store (used when FLAG_REDIS_URL is unset) keeps its data under
# /var/lib/flag-server: mount a volume there to keep it.
ENV FLAG_LISTEN=0.0.0.0:8080 \
    FLAG_DATA_DIR=/var/lib/flag-server/data
WORKDIR /var/lib/flag-server
# Numeric, so that Kubernetes' runAsNonRoot can check it.
USER 10001:10001
EXPOSE 8080

# /healthz: the process is alive (readiness, /readyz, is for load balancers and Kubernetes).
# The port is read from FLAG_LISTEN, so the check follows a changed listen address.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:${FLAG_LISTEN##*:}/healthz" || exit 1

# flag-server stops cleanly on SIGTERM (docker stop, Kubernetes): streams are told to end, then
# requests in flight finish (at most 5 s).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/flag-server"]

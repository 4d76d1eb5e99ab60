# thb-registry: countries, EMN status history, regions and organisations.
# Built on bookworm, run on bookworm-slim as a non-root user; the SQLite file
# lives in the volume /var/lib/thb. Build from the repository root:
#   docker build -f deploy/docker/registry.Dockerfile -t thb-registry .

FROM debian:bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
      cmake ninja-build g++ pkg-config \
      libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler \
      libabsl-dev libhiredis-dev libsqlite3-dev grpc-proto \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DTHB_BUILD_TESTS=OFF -DTHB_BUILD_BENCH=OFF \
    && ninja -C /build thb-registry grpc-call

FROM debian:bookworm-slim
# The shared libraries the two binaries link (ldd), and iso-codes, whose
# ISO 3166-1 list the first start seeds the countries from.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
      libgrpc++1.51 libgrpc29 libprotobuf32 libabsl20220623 libsqlite3-0 \
      iso-codes \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --no-create-home \
      --home-dir /var/lib/thb thb \
    && mkdir -p /var/lib/thb \
    && chown 10001:10001 /var/lib/thb
COPY --from=build /build/services/registry/thb-registry /usr/local/bin/
COPY --from=build /build/tools/grpc-call/grpc-call /usr/local/bin/
ENV THB_REGISTRY_HOST=0.0.0.0 \
    THB_REGISTRY_PORT=50051 \
    THB_REGISTRY_HEALTH_PORT=50061 \
    THB_REGISTRY_DB=/var/lib/thb/registry.sqlite3 \
    THB_COOPERATION_ADDRESS=cooperation:50052 \
    THB_DRAIN=5s
VOLUME /var/lib/thb
WORKDIR /var/lib/thb
USER 10001:10001
# 50051: the gRPC services, mTLS (THB_TLS_CA, THB_TLS_CERT, THB_TLS_KEY and
# THB_AUTHZ_POLICY name the mounted files). 50061: plaintext, only
# grpc.health.v1.Health, for health checks and probes.
EXPOSE 50051 50061
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD grpc-call --insecure --timeout=2s \
      "127.0.0.1:${THB_REGISTRY_HEALTH_PORT}" health \
      thb.registry.v1.CountryRegistryService || exit 1
# SIGTERM: NOT_SERVING for THB_DRAIN, then the server stops.
STOPSIGNAL SIGTERM
ENTRYPOINT ["thb-registry"]

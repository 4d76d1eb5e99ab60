# thb-aggregator: statistics over an in-memory index of the cooperation
# records, behind the Redis cache the replicas share. Stateless: run as many
# replicas as needed. Built on bookworm, run on bookworm-slim as a non-root
# user. Build from the repository root:
#   docker build -f deploy/docker/aggregator.Dockerfile -t thb-aggregator .

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
    && ninja -C /build thb-aggregator grpc-call

FROM debian:bookworm-slim
# The shared libraries the two binaries link (ldd).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
      libgrpc++1.51 libgrpc29 libprotobuf32 libabsl20220623 libhiredis0.14 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --no-create-home \
      --home-dir /nonexistent thb
COPY --from=build /build/services/aggregator/thb-aggregator /usr/local/bin/
COPY --from=build /build/tools/grpc-call/grpc-call /usr/local/bin/
ENV THB_AGGREGATOR_HOST=0.0.0.0 \
    THB_AGGREGATOR_PORT=50053 \
    THB_AGGREGATOR_HEALTH_PORT=50063 \
    THB_REGISTRY_ADDRESS=registry:50051 \
    THB_COOPERATION_ADDRESS=cooperation:50052 \
    THB_REDIS_ADDRESS=redis:6379 \
    THB_DRAIN=5s
USER 10001:10001
# 50053: the gRPC services, mTLS (THB_TLS_CA, THB_TLS_CERT, THB_TLS_KEY and
# THB_AUTHZ_POLICY name the mounted files). 50063: plaintext, only
# grpc.health.v1.Health, for health checks and probes.
EXPOSE 50053 50063
# Healthy once the index has synced with the registry and the cooperation
# service; until then the replica answers NOT_SERVING.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD grpc-call --insecure --timeout=2s \
      "127.0.0.1:${THB_AGGREGATOR_HEALTH_PORT}" health \
      thb.stats.v1.StatisticsService || exit 1
# SIGTERM: NOT_SERVING for THB_DRAIN, then the server stops.
STOPSIGNAL SIGTERM
ENTRYPOINT ["thb-aggregator"]

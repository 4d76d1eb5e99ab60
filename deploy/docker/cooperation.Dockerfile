# thb-cooperation: cooperation records with their sources, validated against
# the registry. Built on bookworm, run on bookworm-slim as a non-root user;
# the SQLite file lives in the volume /var/lib/thb. Build from the repository
# root:
#   docker build -f deploy/docker/cooperation.Dockerfile -t thb-cooperation .

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
    && ninja -C /build thb-cooperation grpc-call

FROM debian:bookworm-slim
# The shared libraries the two binaries link (ldd).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
      libgrpc++1.51 libgrpc29 libprotobuf32 libabsl20220623 libsqlite3-0 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --no-create-home \
      --home-dir /var/lib/thb thb \
    && mkdir -p /var/lib/thb \
    && chown 10001:10001 /var/lib/thb
COPY --from=build /build/services/cooperation/thb-cooperation /usr/local/bin/
COPY --from=build /build/tools/grpc-call/grpc-call /usr/local/bin/
ENV THB_COOPERATION_HOST=0.0.0.0 \
    THB_COOPERATION_PORT=50052 \
    THB_COOPERATION_HEALTH_PORT=50062 \
    THB_COOPERATION_DB=/var/lib/thb/cooperation.sqlite3 \
    THB_REGISTRY_ADDRESS=registry:50051 \
    THB_DRAIN=5s
VOLUME /var/lib/thb
WORKDIR /var/lib/thb
USER 10001:10001
# 50052: the gRPC services, mTLS (THB_TLS_CA, THB_TLS_CERT, THB_TLS_KEY and
# THB_AUTHZ_POLICY name the mounted files). 50062: plaintext, only
# grpc.health.v1.Health, for health checks and probes.
EXPOSE 50052 50062
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD grpc-call --insecure --timeout=2s \
      "127.0.0.1:${THB_COOPERATION_HEALTH_PORT}" health \
      thb.cooperation.v1.CooperationRecordService || exit 1
# SIGTERM: NOT_SERVING for THB_DRAIN, then the server stops.
STOPSIGNAL SIGTERM
ENTRYPOINT ["thb-cooperation"]

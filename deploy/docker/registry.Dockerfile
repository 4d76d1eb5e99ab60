# thb-registry: build on bookworm, run on bookworm-slim as a non-root user.
FROM debian:bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      cmake ninja-build g++ pkg-config libgrpc++-dev protobuf-compiler-grpc \
      libprotobuf-dev protobuf-compiler libabsl-dev libhiredis-dev \
      libsqlite3-dev grpc-proto iso-codes \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DTHB_BUILD_TESTS=OFF \
    && ninja -C /build thb-registry grpc-call

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      libgrpc++1.51 libprotobuf32 libsqlite3-0 iso-codes \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/thb thb \
    && mkdir -p /var/lib/thb && chown thb /var/lib/thb
COPY --from=build /build/services/registry/thb-registry /usr/local/bin/
COPY --from=build /build/tools/grpc-call/grpc-call /usr/local/bin/
USER 10001
ENV THB_REGISTRY_HOST=0.0.0.0 \
    THB_REGISTRY_PORT=50051 \
    THB_REGISTRY_DB=/var/lib/thb/registry.sqlite3
VOLUME /var/lib/thb
EXPOSE 50051
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s \
  CMD ["grpc-call", "--timeout=2s", "127.0.0.1:50051", "health", "thb.registry.v1.CountryRegistryService"]
ENTRYPOINT ["thb-registry"]

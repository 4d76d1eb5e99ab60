# thbctl: the command-line client, with the study dataset at
# /usr/share/thb/data/study.txtpb so that a one-shot job can import it:
#   docker run --rm --network NETWORK thb-thbctl import data/study.txtpb
# Build from the repository root:
#   docker build -f deploy/docker/thbctl.Dockerfile -t thb-thbctl .

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
    && ninja -C /build thbctl

FROM debian:bookworm-slim
# The shared libraries thbctl links (ldd).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
      libgrpc++1.51 libgrpc29 libprotobuf32 libabsl20220623 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --no-create-home \
      --home-dir /nonexistent thb
COPY --from=build /build/tools/thbctl/thbctl /usr/local/bin/
COPY data/study.txtpb /usr/share/thb/data/study.txtpb
ENV THB_REGISTRY_ADDRESS=registry:50051 \
    THB_COOPERATION_ADDRESS=cooperation:50052 \
    THB_AGGREGATOR_ADDRESS=aggregator:50053
# thbctl check and stats figures read data/study.txtpb by default: from here,
# the copy above.
WORKDIR /usr/share/thb
USER 10001:10001
ENTRYPOINT ["thbctl"]
CMD ["help"]

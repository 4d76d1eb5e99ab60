#!/usr/bin/env bash
# gRPC benchmarks of the aggregator, against a trivial echo RPC served by
# the same server runner in the same run: starts Redis (on a Unix socket),
# thb-registry and thb-cooperation on free loopback ports, imports N
# synthetic records, starts thb-aggregator, then drives each RPC with a
# closed loop at 1, 16 and 64 calls in flight. Mutual TLS with the
# authorization policy throughout: the import calls as the editor, the load
# as the reader (scripts/bench-tls.sh compares with plaintext).
#   scripts/bench-grpc.sh [RECORDS (default 100000)] [SECONDS (default 5)]
set -euo pipefail
source "$(dirname "$0")/lib/bench-common.sh"
bench_init

records="${1:-100000}"
seconds="${2:-5}"
start_redis redis
start_registry registry
start_cooperation cooperation
echo "machine: $(machine_line)"
"$bin/bench/import_bench" --cooperation="$cooperation" --records="$records" \
  "${as_editor[@]}"

start_aggregator aggregator "unix:$work/redis.sock"
awk -v t="$sync_seconds" -v r="$records" -v k="$(rss_kib "$aggregator_pid")" 'BEGIN {
  printf "aggregator first sync of %d records: %.2f s; resident memory %.0f MiB = %.0f bytes per record (whole process)\n",
    r, t, k / 1024, k * 1024 / r }'

for in_flight in 1 16 64; do
  echo_line=$("$bin/bench/grpc_load" "${as_reader[@]}" --target="$aggregator" --rpc=echo \
    --in_flight="$in_flight" --duration="${seconds}s")
  count_line=$("$bin/bench/grpc_load" "${as_reader[@]}" --target="$aggregator" --rpc=count \
    --in_flight="$in_flight" --duration="${seconds}s")
  echo "$echo_line"
  echo "$count_line"
  awk -v c="$(kv qps "$count_line")" -v e="$(kv qps "$echo_line")" -v n="$in_flight" \
    'BEGIN { printf "cached CountCountries / echo at %d in flight: %.2f\n", n, c / e }'
done
"$bin/bench/grpc_load" "${as_reader[@]}" --target="$aggregator" --rpc=count_uncached \
  --in_flight=16 --duration="${seconds}s"

#!/usr/bin/env bash
# gRPC benchmarks of the aggregator, against a trivial echo RPC served by
# the same server runner in the same run: starts Redis (on a Unix socket),
# thb-registry and thb-cooperation on free loopback ports, imports N
# synthetic records, starts thb-aggregator, then drives each RPC with a
# closed loop at 1, 16 and 64 calls in flight.
#   scripts/bench-grpc.sh [RECORDS (default 100000)] [SECONDS (default 5)]
set -euo pipefail
cd "$(dirname "$0")/.."

records="${1:-100000}"
seconds="${2:-5}"
scripts/deps.sh
scripts/build.sh Release >/dev/null
bin=build/release

work=$(mktemp -d)
pids=()
cleanup() {
  if ((${#pids[@]})); then kill "${pids[@]}" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

wait_port() {
  for _ in $(seq 600); do
    [[ -s "$1" ]] && { cat "$1"; return; }
    sleep 0.1
  done
  echo "no port in $1" >&2
  exit 1
}

redis-server --port 0 --unixsocket "$work/redis.sock" --save '' \
  --appendonly no --dir "$work" --loglevel warning &
pids+=($!)
"$bin/services/registry/thb-registry" --port=0 --port_file="$work/registry.port" \
  --db="$work/registry.sqlite3" 2>"$work/registry.log" &
pids+=($!)
registry="127.0.0.1:$(wait_port "$work/registry.port")"
"$bin/services/cooperation/thb-cooperation" --port=0 \
  --port_file="$work/cooperation.port" --db="$work/cooperation.sqlite3" \
  --registry="$registry" 2>"$work/cooperation.log" &
pids+=($!)
cooperation="127.0.0.1:$(wait_port "$work/cooperation.port")"

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
"$bin/bench/import_bench" --cooperation="$cooperation" --records="$records"

started=$(date +%s.%N)
"$bin/services/aggregator/thb-aggregator" --port=0 \
  --port_file="$work/aggregator.port" --registry="$registry" \
  --cooperation="$cooperation" --redis="unix:$work/redis.sock" \
  --benchmark_echo 2>"$work/aggregator.log" &
aggregator_pid=$!
pids+=($aggregator_pid)
aggregator="127.0.0.1:$(wait_port "$work/aggregator.port")"
until "$bin/tools/grpc-call/grpc-call" --timeout=1s "$aggregator" health \
    thb.stats.v1.StatisticsService >/dev/null 2>&1; do
  sleep 0.05
done
synced=$(date +%s.%N)
rss_kib=$(awk '/VmRSS/ {print $2}' "/proc/$aggregator_pid/status")
awk -v s="$started" -v e="$synced" -v r="$records" -v k="$rss_kib" 'BEGIN {
  printf "aggregator first sync of %d records: %.2f s; resident memory %.0f MiB = %.0f bytes per record (whole process)\n",
    r, e - s, k / 1024, k * 1024 / r }'

for in_flight in 1 16 64; do
  echo_line=$("$bin/bench/grpc_load" --target="$aggregator" --rpc=echo \
    --in_flight="$in_flight" --duration="${seconds}s")
  count_line=$("$bin/bench/grpc_load" --target="$aggregator" --rpc=count \
    --in_flight="$in_flight" --duration="${seconds}s")
  echo "$echo_line"
  echo "$count_line"
  qps() { sed -n 's/.*qps=\([0-9.]*\).*/\1/p' <<<"$1"; }
  awk -v c="$(qps "$count_line")" -v e="$(qps "$echo_line")" -v n="$in_flight" \
    'BEGIN { printf "cached CountCountries / echo at %d in flight: %.2f\n", n, c / e }'
done
"$bin/bench/grpc_load" --target="$aggregator" --rpc=count_uncached \
  --in_flight=16 --duration="${seconds}s"

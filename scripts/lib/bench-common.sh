# Shared by the benchmark scripts (sourced, not run): builds the Release
# tree, keeps a scratch directory, and starts the suite's processes on free
# loopback ports, stopping everything it started on exit.
#   source "$(dirname "$0")/lib/bench-common.sh"; bench_init
# THB_BUILD_DIR=DIR runs the binaries of an already built tree instead
# (configured with -DTHB_BUILD_BENCH=ON), without building.

bench_init() {
  cd "$(dirname "${BASH_SOURCE[0]}")/../.."
  if [[ -n "${THB_BUILD_DIR:-}" ]]; then
    bin=$THB_BUILD_DIR
  else
    scripts/deps.sh
    scripts/build.sh Release >/dev/null
    bin=build/release
  fi
  work=$(mktemp -d)
  pids=()
  trap bench_cleanup EXIT
  # The Redis password and the cache's HMAC key of this run, in the
  # scratch directory; the password reaches Redis in a config file, not
  # on a command line that `ps` shows.
  (
    umask 077
    random_hex() { od -An -N32 -tx1 /dev/urandom | tr -d ' \n'; }
    random_hex >"$work/redis-password"
    random_hex >"$work/cache-hmac-key"
    echo "requirepass $(cat "$work/redis-password")" >"$work/redis.conf"
  )
}

bench_cleanup() {
  if ((${#pids[@]})); then kill "${pids[@]}" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  rm -rf "$work"
}

# Stops one process this script started.
bench_stop() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# Prints the port a server wrote to the file $1, waiting up to a minute.
wait_port() {
  for _ in $(seq 600); do
    [[ -s "$1" ]] && { cat "$1"; return; }
    sleep 0.1
  done
  echo "no port in $1" >&2
  exit 1
}

# The machine, without naming it.
machine_line() {
  local cpu
  cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
  echo "$(nproc) cores ($cpu), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(. /etc/os-release && echo "$PRETTY_NAME"), Linux $(uname -r | cut -d- -f1)"
}

# start_redis NAME: Redis on the Unix socket $work/NAME.sock, no
# persistence; sets redis_pid.
start_redis() {
  redis-server "$work/redis.conf" --port 0 --unixsocket "$work/$1.sock" --save '' \
    --appendonly no --dir "$work" --loglevel warning &
  redis_pid=$!
  pids+=("$redis_pid")
}

# start_registry NAME: sets registry (host:port).
start_registry() {
  "$bin/services/registry/thb-registry" --port=0 \
    --port_file="$work/$1.port" --db="$work/$1.sqlite3" 2>"$work/$1.log" &
  pids+=($!)
  registry="127.0.0.1:$(wait_port "$work/$1.port")"
}

# start_cooperation NAME: against $registry; sets cooperation.
start_cooperation() {
  "$bin/services/cooperation/thb-cooperation" --port=0 \
    --port_file="$work/$1.port" --db="$work/$1.sqlite3" \
    --registry="$registry" 2>"$work/$1.log" &
  pids+=($!)
  cooperation="127.0.0.1:$(wait_port "$work/$1.port")"
}

# start_aggregator NAME REDIS: against $registry and $cooperation, with the
# echo RPC; waits until it is SERVING (synced). Sets aggregator,
# aggregator_pid and sync_seconds (start to SERVING).
start_aggregator() {
  local started synced
  started=$(date +%s.%N)
  "$bin/services/aggregator/thb-aggregator" --port=0 \
    --port_file="$work/$1.port" --registry="$registry" \
    --cooperation="$cooperation" --redis="$2" \
    --redis_password_file="$work/redis-password" \
    --cache_hmac_key_file="$work/cache-hmac-key" \
    --benchmark_echo 2>"$work/$1.log" &
  aggregator_pid=$!
  pids+=("$aggregator_pid")
  aggregator="127.0.0.1:$(wait_port "$work/$1.port")"
  for _ in $(seq 3000); do
    "$bin/tools/grpc-call/grpc-call" --timeout=1s "$aggregator" health \
      thb.stats.v1.StatisticsService >/dev/null 2>&1 && break
    sleep 0.05
  done
  synced=$(date +%s.%N)
  sync_seconds=$(awk -v s="$started" -v e="$synced" 'BEGIN {printf "%.2f", e - s}')
}

# Resident memory of process $1 in KiB.
rss_kib() {
  awk '/VmRSS/ {print $2}' "/proc/$1/status"
}

# kv NAME LINE: the value of " NAME=value" in a grpc_load line, units
# dropped.
kv() {
  sed -n "s/.*[ ]$1=\([0-9.]*\).*/\1/p" <<<"$2" | head -1
}

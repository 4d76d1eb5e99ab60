# Shared by the benchmark scripts (sourced, not run): builds the Release
# tree, keeps a scratch directory, and starts the suite's processes on free
# loopback ports, stopping everything it started on exit.
#   source "$(dirname "$0")/lib/bench-common.sh"; bench_init
# THB_BUILD_DIR=DIR runs the binaries of an already built tree instead
# (configured with -DTHB_BUILD_BENCH=ON), without building.
#
# Secure like a deployment: bench_init makes a development PKI in the
# scratch directory; the servers serve mutual TLS with their service
# certificates and the repository's authorization policy, and the clients
# call as the reader ("${as_reader[@]}": queries) or the editor
# ("${as_editor[@]}": writes). A plaintext run is only ever asked for by
# name: `bench_security plaintext` makes the next servers and the client
# flags --insecure (loopback), and its figures must be labelled a
# plaintext baseline.

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
  scripts/lib/dev-pki.sh "$work/tls" >/dev/null
  policy="$PWD/deploy/authz-policy.json"
  bench_security tls
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

# bench_security tls|plaintext: how the servers started next serve and how
# the clients call: sets security (the mode), as_reader, as_editor (client
# flags) and the server flags that start_* use.
bench_security() {
  security=$1
  case "$security" in
    tls)
      as_reader=(--tls_ca="$work/tls/ca.pem" --tls_cert="$work/tls/reader.pem"
        --tls_key="$work/tls/reader-key.pem")
      as_editor=(--tls_ca="$work/tls/ca.pem" --tls_cert="$work/tls/editor.pem"
        --tls_key="$work/tls/editor-key.pem")
      ;;
    plaintext)
      as_reader=(--insecure)
      as_editor=(--insecure)
      ;;
    *) echo "bench_security: tls or plaintext, not '$1'" >&2; exit 2 ;;
  esac
}

# server_security NAME SERVICE: the flags with which the server NAME (of
# the service SERVICE: registry, cooperation, aggregator) serves in the
# current mode, its plaintext health port on a free port written to
# $work/NAME.health.
server_security() {
  printf '%s\n' --health_port=0 --health_port_file="$work/$1.health"
  if [[ "$security" == plaintext ]]; then
    printf '%s\n' --host=127.0.0.1 --insecure
  else
    printf '%s\n' --tls_ca="$work/tls/ca.pem" --tls_cert="$work/tls/$2.pem" \
      --tls_key="$work/tls/$2-key.pem" --authz_policy="$policy"
  fi
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
    --appendonly no --dir "$work" --loglevel warning >"$work/$1.log" 2>&1 &
  redis_pid=$!
  pids+=("$redis_pid")
}

# start_registry NAME: sets registry (host:port).
start_registry() {
  local flags
  mapfile -t flags < <(server_security "$1" registry)
  "$bin/services/registry/thb-registry" --port=0 "${flags[@]}" \
    --port_file="$work/$1.port" --db="$work/$1.sqlite3" 2>"$work/$1.log" &
  pids+=($!)
  registry="127.0.0.1:$(wait_port "$work/$1.port")"
}

# start_cooperation NAME: against $registry; sets cooperation.
start_cooperation() {
  local flags
  mapfile -t flags < <(server_security "$1" cooperation)
  "$bin/services/cooperation/thb-cooperation" --port=0 "${flags[@]}" \
    --port_file="$work/$1.port" --db="$work/$1.sqlite3" \
    --registry="$registry" 2>"$work/$1.log" &
  pids+=($!)
  cooperation="127.0.0.1:$(wait_port "$work/$1.port")"
}

# start_aggregator NAME REDIS: against $registry and $cooperation, with the
# echo RPC; waits until it is SERVING (synced). Sets aggregator,
# aggregator_pid and sync_seconds (start to SERVING).
start_aggregator() {
  local started synced flags health
  mapfile -t flags < <(server_security "$1" aggregator)
  started=$(date +%s.%N)
  "$bin/services/aggregator/thb-aggregator" --port=0 "${flags[@]}" \
    --port_file="$work/$1.port" --registry="$registry" \
    --cooperation="$cooperation" --redis="$2" \
    --redis_password_file="$work/redis-password" \
    --cache_hmac_key_file="$work/cache-hmac-key" \
    --benchmark_echo 2>"$work/$1.log" &
  aggregator_pid=$!
  pids+=("$aggregator_pid")
  aggregator="127.0.0.1:$(wait_port "$work/$1.port")"
  health="127.0.0.1:$(wait_port "$work/$1.health")"
  # The plaintext health port answers SERVING once the first sync is done.
  local ready=0
  for _ in $(seq 3000); do
    if "$bin/tools/grpc-call/grpc-call" --insecure --timeout=1s "$health" \
      health thb.stats.v1.StatisticsService >/dev/null 2>&1; then
      ready=1
      break
    fi
    sleep 0.05
  done
  if ((!ready)); then
    echo "thb-aggregator ($1) did not become SERVING; its log:" >&2
    tail -20 "$work/$1.log" >&2
    exit 1
  fi
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

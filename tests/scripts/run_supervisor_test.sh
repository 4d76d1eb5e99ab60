#!/usr/bin/env bash
# scripts/run.sh as a supervisor: a process that dies (redis-server, then the
# aggregator) is started again and said so, the aggregator answers
# throughout, and SIGTERM to the runner stops every process it started.
#   run_supervisor_test.sh BUILD_DIR
set -euo pipefail
build_dir=$(cd "$1" && pwd)
cd "$(dirname "$0")/../.."

tmp=$(mktemp -d "${TMPDIR:-/tmp}/thb-run-test-XXXXXX")
runner=
cleanup() {
  if [[ -n $runner ]] && kill -0 "$runner" 2>/dev/null; then
    kill -TERM "$runner" 2>/dev/null || true
    wait "$runner" 2>/dev/null || true
  fi
  # Anything the runner left behind (a failure already reported) goes too.
  for pid in $(pids_under "$tmp"); do kill -KILL "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  echo "--- runner's output:" >&2
  cat "$tmp/run.log" >&2 || true
  exit 1
}

# pids_under TEXT: the processes whose command line holds TEXT (the test's
# own temporary directory, which nothing else names).
pids_under() {
  local dir cmdline
  for dir in /proc/[0-9]*; do
    cmdline=$(tr "\0" " " 2>/dev/null <"$dir/cmdline") || continue
    if [[ $cmdline == *"$1"* && ${dir#/proc/} != "$$" ]]; then
      echo "${dir#/proc/}"
    fi
  done
}

# free_port: a loopback port nothing listens on, among the unprivileged
# ones the kernel does not hand out for outgoing connections.
used_ports=" "
free_port() {
  local port
  while true; do
    port=$((20000 + RANDOM % 12000))
    [[ $used_ports == *" $port "* ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      used_ports+="$port "
      echo "$port"
      return
    fi
  done
}

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND until it succeeds.
wait_for() {
  local seconds=$1 what=$2
  shift 2
  for _ in $(seq $((seconds * 10))); do
    if "$@" >/dev/null 2>&1; then return; fi
    sleep 0.1
  done
  fail "$what (after ${seconds}s)"
}

export THB_BUILD_DIR="$build_dir"
export THB_DATA_DIR="$tmp/data" THB_TLS_DIR="$tmp/tls"
export THB_SECRETS_DIR="$tmp/secrets"
export THB_REGISTRY_PORT=$(free_port) THB_COOPERATION_PORT=$(free_port)
export THB_AGGREGATOR_PORT=$(free_port)
export THB_REGISTRY_HEALTH_PORT=$(free_port)
export THB_COOPERATION_HEALTH_PORT=$(free_port)
export THB_AGGREGATOR_HEALTH_PORT=$(free_port)
# Quick stops: nothing balances load over these.
export THB_DRAIN=0s

scripts/run.sh >"$tmp/run.log" 2>&1 &
runner=$!
wait_for 120 "the runner did not report serving" grep -q "thb is serving" \
  "$tmp/run.log"

export THB_AGGREGATOR_ADDRESS="127.0.0.1:$THB_AGGREGATOR_PORT"
export THB_TLS_CA="$tmp/tls/ca.pem" THB_TLS_CERT="$tmp/tls/reader.pem"
export THB_TLS_KEY="$tmp/tls/reader-key.pem"
thbctl="$build_dir/tools/thbctl/thbctl"
answers() { "$thbctl" stats count --partner=IOM | grep -q 16; }
answers || fail "the aggregator does not answer"

redis_cli() {
  REDISCLI_AUTH=$(cat "$tmp/secrets/redis-password") \
    redis-cli -s "$tmp/data/redis/redis.sock" "$@"
}
redis_ping() { [[ $(redis_cli ping) == PONG ]]; }
redis_ping || fail "redis-server does not answer"
# Redis rewrites its command line; it tells its pid itself.
redis=$(redis_cli info server | tr -d '\r' | sed -n 's/^process_id://p')
[[ -n $redis ]] || fail "no redis-server found"

# A cache outage is no outage: the rest keeps serving while Redis is down,
# and Redis comes back.
kill -KILL "$redis"
wait_for 10 "the runner did not report the death of redis-server" grep -q \
  "thb: redis-server exited (signal KILL); restarting in 1s" "$tmp/run.log"
answers || fail "the aggregator stopped answering without Redis"
wait_for 10 "redis-server was not restarted" redis_ping
kill -0 "$runner" || fail "the runner exited"
answers || fail "the aggregator does not answer after Redis came back"

# A service that dies comes back too.
aggregator=$(pids_under "thb-aggregator --port=$THB_AGGREGATOR_PORT")
[[ -n $aggregator ]] || fail "no aggregator found"
kill -KILL $aggregator
wait_for 10 "the runner did not report the death of thb-aggregator" grep -q \
  "thb: thb-aggregator exited (signal KILL); restarting in 1s" "$tmp/run.log"
wait_for 30 "the aggregator did not come back" answers

# SIGTERM to the runner stops everything it started.
kill -TERM "$runner"
for _ in $(seq 300); do
  kill -0 "$runner" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$runner" 2>/dev/null && fail "the runner did not stop within 30s"
wait "$runner" || true
runner=
left=$(pids_under "$tmp")
[[ -z $left ]] || fail "processes left after the runner stopped: $left"
grep -q "restarting in" <(grep -v -e redis-server -e thb-aggregator \
  "$tmp/run.log") && fail "a process was restarted while stopping"
echo "run.sh supervises: 1 passed, 0 failed"

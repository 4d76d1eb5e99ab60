#!/usr/bin/env bash
# Installs what is missing, builds, and serves the whole suite on loopback
# until Ctrl-C: Redis, the registry, the cooperation service with the study
# dataset imported, and the aggregator; then prints the study's figures.
#   THB_DATA_DIR   where the SQLite files and Redis's directory live
#                  (default: .thb/data)
#   THB_SECRETS_DIR  where the Redis password and the cache's HMAC key are
#                  made on the first run (default: .thb/secrets)
#   THB_REGISTRY_PORT, THB_COOPERATION_PORT, THB_AGGREGATOR_PORT,
#   THB_REDIS_PORT and the other THB_* variables of README.md apply.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
scripts/build.sh Release

data_dir="${THB_DATA_DIR:-.thb/data}"
mkdir -p "$data_dir/redis"
bin=build/release
redis_port="${THB_REDIS_PORT:-6379}"
export THB_REGISTRY_ADDRESS="127.0.0.1:${THB_REGISTRY_PORT:-50051}"
export THB_COOPERATION_ADDRESS="127.0.0.1:${THB_COOPERATION_PORT:-50052}"
export THB_AGGREGATOR_ADDRESS="127.0.0.1:${THB_AGGREGATOR_PORT:-50053}"
export THB_REDIS_ADDRESS="127.0.0.1:$redis_port"

# Made once, readable by this user only; the password reaches Redis in a
# config file rather than on a command line that `ps` shows.
secrets_dir="${THB_SECRETS_DIR:-.thb/secrets}"
(
  umask 077
  mkdir -p "$secrets_dir"
  random_hex() { od -An -N32 -tx1 /dev/urandom | tr -d ' \n'; }
  [[ -s "$secrets_dir/redis-password" ]] ||
    random_hex >"$secrets_dir/redis-password"
  [[ -s "$secrets_dir/cache-hmac-key" ]] ||
    random_hex >"$secrets_dir/cache-hmac-key"
  echo "requirepass $(cat "$secrets_dir/redis-password")" \
    >"$secrets_dir/redis.conf"
)
export THB_REDIS_PASSWORD_FILE="$secrets_dir/redis-password"
export THB_CACHE_HMAC_KEY_FILE="$secrets_dir/cache-hmac-key"

pids=()
stop() {
  trap - INT TERM EXIT
  if ((${#pids[@]})); then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
}
trap stop INT TERM EXIT

grpc_call="$bin/tools/grpc-call/grpc-call"
thbctl="$bin/tools/thbctl/thbctl"
wait_healthy() {
  for _ in $(seq 300); do
    if "$grpc_call" --timeout=1s "$1" health "$2" >/dev/null 2>&1; then
      return
    fi
    sleep 0.1
  done
  echo "thb: $2 at $1 did not become ready" >&2
  exit 1
}

# A Redis already answering on the port (the distribution's service, say)
# is used as it is: unless it requires the password in
# $secrets_dir/redis-password, answers are computed and not cached.
if ! redis-cli -p "$redis_port" ping >/dev/null 2>&1; then
  redis-server "$secrets_dir/redis.conf" --port "$redis_port" \
    --bind 127.0.0.1 --dir "$data_dir/redis" \
    --save '' --appendonly no --loglevel warning &
  pids+=($!)
fi
"$bin/services/registry/thb-registry" --port="${THB_REGISTRY_PORT:-50051}" \
  --db="${THB_REGISTRY_DB:-$data_dir/registry.sqlite3}" &
pids+=($!)
"$bin/services/cooperation/thb-cooperation" \
  --port="${THB_COOPERATION_PORT:-50052}" \
  --db="${THB_COOPERATION_DB:-$data_dir/cooperation.sqlite3}" &
pids+=($!)
wait_healthy "$THB_REGISTRY_ADDRESS" thb.registry.v1.CountryRegistryService
wait_healthy "$THB_COOPERATION_ADDRESS" \
  thb.cooperation.v1.CooperationRecordService
"$thbctl" import data/study.txtpb

"$bin/services/aggregator/thb-aggregator" \
  --port="${THB_AGGREGATOR_PORT:-50053}" &
pids+=($!)
wait_healthy "$THB_AGGREGATOR_ADDRESS" thb.stats.v1.StatisticsService

echo
"$thbctl" stats figures --check || true

# Three questions the study answers, asked the ways a client would.
example() {
  printf '\n$ %s\n' "$1"
  shift
  "$@" || true
}
example "thbctl stats count --partner=IOM    # which countries work with IOM?" \
  "$thbctl" stats count --partner=IOM
example "grpc-call $THB_AGGREGATOR_ADDRESS call thb.stats.v1.StatisticsService/CountCountries '{\"query\": {\"filter\": {\"targetRegions\": [\"SAHEL\"]}}}'    # through reflection" \
  "$grpc_call" "$THB_AGGREGATOR_ADDRESS" call \
  thb.stats.v1.StatisticsService/CountCountries \
  '{"query": {"filter": {"targetRegions": ["SAHEL"]}}}'
example "thbctl stats explain --tag=low-trust --as_of=2025-07-16    # footnote 28 and its sources" \
  "$thbctl" stats explain --tag=low-trust --as_of=2025-07-16

cat <<MSG

thb is serving on loopback (Ctrl-C stops it):
  thb.registry.v1.CountryRegistryService       $THB_REGISTRY_ADDRESS
  thb.cooperation.v1.CooperationRecordService  $THB_COOPERATION_ADDRESS
  thb.stats.v1.StatisticsService               $THB_AGGREGATOR_ADDRESS
  Redis (response cache)                       $THB_REDIS_ADDRESS
  data                                         $data_dir

Try also:
  $thbctl stats share --part_footnote=28 --whole_footnote=27
  $thbctl stats breakdown --by=region --as_of=2025-07-16
  $grpc_call $THB_AGGREGATOR_ADDRESS list

MSG
wait -n "${pids[@]}"

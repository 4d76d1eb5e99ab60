#!/usr/bin/env bash
# Installs what is missing, builds, and serves the whole suite on loopback
# until Ctrl-C, secure as a deployment is: mutual TLS with the development
# PKI of .thb/tls, the authorization policy of deploy/authz-policy.json, and
# Redis behind a password. Starts Redis, the registry, the cooperation
# service with the study dataset imported (as the editor), and the
# aggregator; then prints the study's figures (as the reader).
#   THB_DATA_DIR   where the SQLite files and Redis's directory live
#                  (default: .thb/data)
#   THB_TLS_DIR    the development PKI (default: .thb/tls)
#   THB_SECRETS_DIR  the Redis password and the cache's HMAC key
#                  (default: .thb/secrets)
#   THB_REGISTRY_PORT, THB_COOPERATION_PORT, THB_AGGREGATOR_PORT, their
#   THB_<SERVICE>_HEALTH_PORT, THB_REDIS_PORT and the other THB_* variables
#   of README.md apply.
#   THB_BUILD_DIR  run the binaries of this build tree as they are, without
#                  installing or building anything (the runner's own test)
# A process that dies is started again, after a pause that doubles with
# each quick death (1 s up to 30 s), and the runner says so on stderr;
# Ctrl-C or SIGTERM stops every process.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -n ${THB_BUILD_DIR:-} ]]; then
  bin="$THB_BUILD_DIR"
else
  scripts/deps.sh
  scripts/build.sh Release
  bin=build/release
fi

data_dir="${THB_DATA_DIR:-.thb/data}"
tls_dir="${THB_TLS_DIR:-.thb/tls}"
secrets_dir="${THB_SECRETS_DIR:-.thb/secrets}"
scripts/lib/dev-pki.sh "$tls_dir"
scripts/lib/dev-secrets.sh "$secrets_dir"
mkdir -p "$data_dir/redis"
# Redis's directory holds its configuration, with the password, and its
# socket.
chmod 700 "$data_dir/redis"
tls_dir=$(cd "$tls_dir" && pwd)
secrets_dir=$(cd "$secrets_dir" && pwd)
redis_dir=$(cd "$data_dir/redis" && pwd)

registry_port="${THB_REGISTRY_PORT:-50051}"
cooperation_port="${THB_COOPERATION_PORT:-50052}"
aggregator_port="${THB_AGGREGATOR_PORT:-50053}"
registry_health="127.0.0.1:${THB_REGISTRY_HEALTH_PORT:-50061}"
cooperation_health="127.0.0.1:${THB_COOPERATION_HEALTH_PORT:-50062}"
aggregator_health="127.0.0.1:${THB_AGGREGATOR_HEALTH_PORT:-50063}"
export THB_REGISTRY_ADDRESS="127.0.0.1:$registry_port"
export THB_COOPERATION_ADDRESS="127.0.0.1:$cooperation_port"
export THB_AGGREGATOR_ADDRESS="127.0.0.1:$aggregator_port"
# Redis listens on a socket in its own directory unless a port is asked
# for, so that no other Redis on the machine (the distribution's, on 6379)
# is in the way.
if [[ -n ${THB_REDIS_PORT:-} ]]; then
  export THB_REDIS_ADDRESS="127.0.0.1:$THB_REDIS_PORT"
  redis_listen=("port $THB_REDIS_PORT" "bind 127.0.0.1")
  redis_cli=(redis-cli -h 127.0.0.1 -p "$THB_REDIS_PORT")
else
  redis_socket="$redis_dir/redis.sock"
  # The kernel's limit on a socket's path (sun_path), less a margin.
  if ((${#redis_socket} > 100)); then
    echo "thb: the Redis socket path $redis_socket is too long; set" \
      "THB_DATA_DIR to a shorter directory or THB_REDIS_PORT" >&2
    exit 1
  fi
  export THB_REDIS_ADDRESS="unix:$redis_socket"
  redis_listen=("port 0" "unixsocket $redis_socket" "unixsocketperm 700")
  redis_cli=(redis-cli -s "$redis_socket")
fi

# tls_flags NAME: the flags that present NAME's certificate of the
# development PKI, one a line.
tls_flags() {
  printf '%s\n' "--tls_ca=$tls_dir/ca.pem" "--tls_cert=$tls_dir/$1.pem" \
    "--tls_key=$tls_dir/$1-key.pem"
}
mapfile -t as_editor < <(tls_flags editor)
# Each service serves with its own certificate and presents it to its peers.
mapfile -t registry_tls < <(tls_flags registry)
mapfile -t cooperation_tls < <(tls_flags cooperation)
mapfile -t aggregator_tls < <(tls_flags aggregator)
policy=--authz_policy=deploy/authz-policy.json

# Each process runs under a supervisor of its own (a subshell); pids holds
# the supervisors'.
pids=()
stop() {
  trap - INT TERM EXIT
  if ((${#pids[@]})); then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

# The pause before a restart starts at restart_min and doubles up to
# restart_max while the process keeps dying within restart_reset of its
# start; a process that ran longer starts again after restart_min.
restart_min=1
restart_max=30
restart_reset=30

# supervise NAME COMMAND...: runs COMMAND in the background, and again
# whenever it exits, until the supervisor gets SIGTERM, which it passes on
# before it waits for COMMAND to stop. COMMAND runs in a session of its own,
# so that Ctrl-C reaches the runner alone, and a process that stops on its
# own is never mistaken for one the runner is stopping.
supervise() {
  local name=$1
  shift
  (
    trap - INT EXIT
    child=
    stopping=
    trap 'stopping=1; [[ -n $child ]] && kill -TERM "$child" 2>/dev/null' TERM
    pause=$restart_min
    while [[ -z $stopping ]]; do
      started=$SECONDS
      setsid "$@" &
      child=$!
      # wait returns early when the TERM trap runs; the child is then still
      # to be waited for.
      status=0
      wait "$child" || status=$?
      while kill -0 "$child" 2>/dev/null; do
        status=0
        wait "$child" || status=$?
      done
      child=
      [[ -n $stopping ]] && break
      if ((status > 128)); then
        how="signal $(kill -l $((status - 128)) 2>/dev/null || echo $((status - 128)))"
      else
        how="status $status"
      fi
      if ((SECONDS - started >= restart_reset)); then
        pause=$restart_min
      fi
      echo "thb: $name exited ($how); restarting in ${pause}s" >&2
      sleep "$pause" &
      wait $! 2>/dev/null || true
      [[ -n $stopping ]] && break
      echo "thb: restarting $name" >&2
      pause=$((pause * 2 > restart_max ? restart_max : pause * 2))
    done
  ) &
  pids+=($!)
}

grpc_call="$bin/tools/grpc-call/grpc-call"
thbctl="$bin/tools/thbctl/thbctl"
# wait_healthy HEALTH-ADDRESS SERVICE: asks the plaintext health port, which
# serves nothing else.
wait_healthy() {
  for _ in $(seq 300); do
    if "$grpc_call" --insecure --timeout=1s "$1" health "$2" \
        >/dev/null 2>&1; then
      return
    fi
    sleep 0.1
  done
  echo "thb: $2 (health at $1) did not become ready" >&2
  exit 1
}

# Redis reads its password from a configuration file only this user can
# read, so that it shows neither in ps nor in the shell's history.
(
  umask 077
  {
    printf '%s\n' "${redis_listen[@]}"
    echo "dir $redis_dir"
    echo "save \"\""
    echo "appendonly no"
    echo "loglevel warning"
    echo "requirepass $(cat "$secrets_dir/redis-password")"
  } >"$redis_dir/redis.conf.tmp"
  mv -f "$redis_dir/redis.conf.tmp" "$redis_dir/redis.conf"
)
supervise redis-server redis-server "$redis_dir/redis.conf"
redis_pid=$!
wait_redis() {
  for _ in $(seq 100); do
    if [[ $(REDISCLI_AUTH=$(cat "$secrets_dir/redis-password") \
        "${redis_cli[@]}" ping 2>/dev/null) == PONG ]]; then
      return
    fi
    kill -0 "$redis_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "thb: Redis did not start at $THB_REDIS_ADDRESS (in use?)" >&2
  exit 1
}
wait_redis

supervise thb-registry "$bin/services/registry/thb-registry" \
  --port="$registry_port" --health_port="${registry_health##*:}" \
  "${registry_tls[@]}" "$policy" \
  --db="${THB_REGISTRY_DB:-$data_dir/registry.sqlite3}"
supervise thb-cooperation "$bin/services/cooperation/thb-cooperation" \
  --port="$cooperation_port" --health_port="${cooperation_health##*:}" \
  "${cooperation_tls[@]}" "$policy" \
  --db="${THB_COOPERATION_DB:-$data_dir/cooperation.sqlite3}"
wait_healthy "$registry_health" thb.registry.v1.CountryRegistryService
wait_healthy "$cooperation_health" thb.cooperation.v1.CooperationRecordService
"$thbctl" "${as_editor[@]}" import data/study.txtpb

supervise thb-aggregator "$bin/services/aggregator/thb-aggregator" \
  --port="$aggregator_port" --health_port="${aggregator_health##*:}" \
  "${aggregator_tls[@]}" "$policy" --redis="$THB_REDIS_ADDRESS" \
  --redis_password_file="$secrets_dir/redis-password" \
  --cache_hmac_key_file="$secrets_dir/cache-hmac-key"
wait_healthy "$aggregator_health" thb.stats.v1.StatisticsService

# From here on every call is the reader's, as the user's own would be after
# the exports printed below.
export THB_TLS_CA="$tls_dir/ca.pem"
export THB_TLS_CERT="$tls_dir/reader.pem"
export THB_TLS_KEY="$tls_dir/reader-key.pem"

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

thb is serving on loopback with mutual TLS (a process that dies is restarted;
Ctrl-C stops them all):
  thb.registry.v1.CountryRegistryService       $THB_REGISTRY_ADDRESS (health $registry_health)
  thb.cooperation.v1.CooperationRecordService  $THB_COOPERATION_ADDRESS (health $cooperation_health)
  thb.stats.v1.StatisticsService               $THB_AGGREGATOR_ADDRESS (health $aggregator_health)
  Redis (response cache, password)             $THB_REDIS_ADDRESS
  data                                         $data_dir
  development PKI and secrets                  $tls_dir, $secrets_dir

Every call needs a client certificate of the development CA. To call thb as
the reader (editor.pem and editor-key.pem may also write records, admin.pem
and admin-key.pem everything), in another shell:
  export THB_TLS_CA=$THB_TLS_CA
  export THB_TLS_CERT=$THB_TLS_CERT
  export THB_TLS_KEY=$THB_TLS_KEY

Then try:
  $thbctl stats share --part_footnote=28 --whole_footnote=27
  $thbctl stats breakdown --by=region --as_of=2025-07-16
  $grpc_call $THB_AGGREGATOR_ADDRESS list

MSG
# The supervisors run until stopped; wait returns early only for a signal,
# whose trap stops them.
wait "${pids[@]}"

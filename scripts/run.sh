#!/usr/bin/env bash
# Installs what is missing, builds, and serves thb on loopback until Ctrl-C:
# the registry, the cooperation service with the study dataset imported.
#   THB_DATA_DIR   where the SQLite files live (default: .thb/data)
#   THB_REGISTRY_PORT, THB_COOPERATION_PORT and the other THB_* variables of
#   README.md apply.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
scripts/build.sh Release

data_dir="${THB_DATA_DIR:-.thb/data}"
mkdir -p "$data_dir"
bin=build/release
registry_port="${THB_REGISTRY_PORT:-50051}"
cooperation_port="${THB_COOPERATION_PORT:-50052}"
export THB_REGISTRY_ADDRESS="127.0.0.1:$registry_port"
export THB_COOPERATION_ADDRESS="127.0.0.1:$cooperation_port"

pids=()
stop() {
  trap - INT TERM EXIT
  if ((${#pids[@]})); then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
}
trap stop INT TERM EXIT

wait_healthy() {
  for _ in $(seq 100); do
    if "$bin/tools/grpc-call/grpc-call" --timeout=1s "$1" health "$2" \
        >/dev/null 2>&1; then
      return
    fi
    sleep 0.1
  done
  echo "thb: $2 at $1 did not become ready" >&2
  exit 1
}

"$bin/services/registry/thb-registry" --port="$registry_port" \
  --db="${THB_REGISTRY_DB:-$data_dir/registry.sqlite3}" &
pids+=($!)
"$bin/services/cooperation/thb-cooperation" --port="$cooperation_port" \
  --db="${THB_COOPERATION_DB:-$data_dir/cooperation.sqlite3}" &
pids+=($!)
wait_healthy "$THB_REGISTRY_ADDRESS" thb.registry.v1.CountryRegistryService
wait_healthy "$THB_COOPERATION_ADDRESS" \
  thb.cooperation.v1.CooperationRecordService

thbctl="$bin/tools/thbctl/thbctl"
"$thbctl" import data/study.txtpb
"$thbctl" check data/study.txtpb || true

cat <<MSG

thb is serving on loopback (Ctrl-C stops it):
  thb.registry.v1.CountryRegistryService       $THB_REGISTRY_ADDRESS
  thb.cooperation.v1.CooperationRecordService  $THB_COOPERATION_ADDRESS
  data                                         $data_dir

Try:
  $thbctl countries get GR
  $thbctl records list --kind GOOD_PRACTICE --area PREVENTION
  $bin/tools/grpc-call/grpc-call $THB_REGISTRY_ADDRESS list

MSG
wait -n "${pids[@]}"

#!/usr/bin/env bash
# Installs what is missing, builds, and serves thb on loopback until Ctrl-C.
#   THB_DATA_DIR   where the SQLite files live (default: .thb/data)
#   THB_REGISTRY_PORT and the other THB_* variables of README.md apply.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
scripts/build.sh Release

data_dir="${THB_DATA_DIR:-.thb/data}"
mkdir -p "$data_dir"
bin=build/release/services

pids=()
stop() {
  trap - INT TERM EXIT
  if ((${#pids[@]})); then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
}
trap stop INT TERM EXIT

"$bin/registry/thb-registry" \
  --db="${THB_REGISTRY_DB:-$data_dir/registry.sqlite3}" &
pids+=($!)

port="${THB_REGISTRY_PORT:-50051}"
cat <<MSG

thb is serving on loopback (Ctrl-C stops it):
  thb.registry.v1.CountryRegistryService  127.0.0.1:${port}
  data                                    ${data_dir}

MSG
wait -n "${pids[@]}"

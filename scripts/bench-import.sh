#!/usr/bin/env bash
# Bulk import benchmark: starts thb-registry and thb-cooperation (Release)
# on free loopback ports with fresh SQLite files, imports synthetic records
# through gRPC, then commits the same records straight into the store for a
# baseline measured in the same run.
#   scripts/bench-import.sh [--records=200000] [--batch=10000] [--in_flight=2]
set -euo pipefail
cd "$(dirname "$0")/.."

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
  for _ in $(seq 300); do
    [[ -s "$1" ]] && { cat "$1"; return; }
    sleep 0.1
  done
  echo "no port in $1" >&2
  exit 1
}

"$bin/services/registry/thb-registry" --port=0 --port_file="$work/registry.port" \
  --db="$work/registry.sqlite3" 2>"$work/registry.log" &
pids+=($!)
registry_port=$(wait_port "$work/registry.port")

"$bin/services/cooperation/thb-cooperation" --port=0 \
  --port_file="$work/cooperation.port" --db="$work/cooperation.sqlite3" \
  --registry="127.0.0.1:$registry_port" 2>"$work/cooperation.log" &
pids+=($!)
cooperation_port=$(wait_port "$work/cooperation.port")

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(df -h "$work" | awk 'NR==2 {print $1}')"
"$bin/bench/import_bench" --cooperation="127.0.0.1:$cooperation_port" \
  --baseline_db="$work/baseline.sqlite3" "$@"

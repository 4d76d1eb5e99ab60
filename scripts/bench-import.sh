#!/usr/bin/env bash
# Bulk import benchmark: starts thb-registry and thb-cooperation (Release)
# on free loopback ports with fresh SQLite files, imports synthetic records
# through gRPC, then commits the same records straight into the store for a
# baseline measured in the same run. The servers serve mutual TLS with the
# authorization policy; the import calls as the editor.
#   scripts/bench-import.sh [--records=200000] [--batch=10000] [--in_flight=2]
set -euo pipefail
source "$(dirname "$0")/lib/bench-common.sh"
bench_init

start_registry registry
start_cooperation cooperation
echo "machine: $(machine_line)"
"$bin/bench/import_bench" --cooperation="$cooperation" "${as_editor[@]}" \
  --baseline_db="$work/baseline.sqlite3" "$@"

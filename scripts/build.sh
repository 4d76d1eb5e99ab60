#!/usr/bin/env bash
# Configures and builds one build type into build/<type>.
#   scripts/build.sh [Release|Debug] [extra cmake arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."

type="${1:-Release}"
shift || true
dir="build/$(echo "$type" | tr '[:upper:]' '[:lower:]')"
jobs="${THB_JOBS:-$(nproc)}"

cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" -DTHB_BUILD_BENCH=ON \
  "$@" >/dev/null
ninja -C "$dir" -j "$jobs"

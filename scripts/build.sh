#!/usr/bin/env bash
# Configures and builds one build type into build/<type>.
#   scripts/build.sh [Release|Debug|Asan|Tsan] [extra cmake arguments...]
# Asan: Debug with AddressSanitizer + UndefinedBehaviorSanitizer and the
# libFuzzer targets (clang). Tsan: Debug with ThreadSanitizer (clang).
# THB_BUILD_TARGETS (space-separated) builds only those targets.
set -euo pipefail
cd "$(dirname "$0")/.."

type="${1:-Release}"
shift || true
dir="build/$(echo "$type" | tr '[:upper:]' '[:lower:]')"
jobs="${THB_JOBS:-$(nproc)}"

args=(-DCMAKE_BUILD_TYPE="$type")
case "$type" in
  Asan)
    args=(-DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++-14
          -DTHB_SANITIZE=address,undefined -DTHB_FUZZ=ON) ;;
  Tsan)
    args=(-DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++-14
          -DTHB_SANITIZE=thread) ;;
esac
if command -v ccache >/dev/null 2>&1; then
  args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

cmake -S . -B "$dir" -G Ninja "${args[@]}" -DTHB_BUILD_BENCH=ON \
  "$@" >/dev/null
# shellcheck disable=SC2086  # a list of target names
ninja -C "$dir" -j "$jobs" ${THB_BUILD_TARGETS:-}

#!/usr/bin/env bash
# Runs every test: installs what is missing, builds Release with the tests
# and runs them under CTest, then checks that the Debug build compiles too.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
scripts/build.sh Release
ctest --test-dir build/release --output-on-failure -j "${THB_JOBS:-$(nproc)}" \
  --timeout 600
scripts/build.sh Debug
echo "thb: all tests passed; Release and Debug build"

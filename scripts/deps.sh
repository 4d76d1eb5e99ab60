#!/usr/bin/env bash
# Installs the Debian bookworm packages thb builds, tests and runs with, when
# any is missing, then the npm tools of scripts/tools/ (buf, for the contract
# checks) into build/tools/ as its package-lock.json pins them. Needs root (or
# sudo) only when a Debian package must be installed.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  cmake ninja-build g++ pkg-config
  # The sanitizer and fuzzing builds: clang 14 with its runtimes (ASan,
  # UBSan, TSan, libFuzzer).
  clang-14 libclang-rt-14-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libhiredis-dev libsqlite3-dev sqlite3 libssl-dev openssl
  libgtest-dev libgmock-dev libbenchmark-dev
  grpc-proto iso-codes redis-server
  libyaml-cpp-dev docker-compose
)
# The deployment checks run on Node.js; a machine that has it from elsewhere
# keeps its own.
if ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null |
      grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} > 0)); then
  echo "thb: installing ${missing[*]}" >&2
  sudo=()
  if ((EUID != 0)); then
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# Project-local, not global: the pinned version is the one every checkout
# runs, whatever else the machine has. Skipped while the installed lock file
# is the one wanted. No install scripts run: buf's only replaces its Node.js
# launcher with the binary, which the launcher finds anyway.
tools=build/tools
stamp=$tools/node_modules/.installed-package-lock.json
if ! cmp -s scripts/tools/package-lock.json "$stamp" ||
    [[ ! -x $tools/node_modules/.bin/buf ]]; then
  echo "thb: installing the npm tools of scripts/tools into $tools" >&2
  mkdir -p "$tools"
  cp scripts/tools/package.json scripts/tools/package-lock.json "$tools/"
  (cd "$tools" && npm ci --no-audit --no-fund --ignore-scripts >/dev/null)
  cp scripts/tools/package-lock.json "$stamp"
fi

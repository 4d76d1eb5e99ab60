#!/usr/bin/env bash
# Installs the Debian bookworm packages thb builds, tests and runs with, when
# any is missing. Needs root (or sudo) only when something must be installed.
set -euo pipefail

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

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "thb: installing ${missing[*]}" >&2
sudo=()
if ((EUID != 0)); then
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

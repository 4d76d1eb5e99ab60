#!/usr/bin/env bash
# The development secrets of thb, for loopback development and tests only.
usage() {
  cat <<'EOF'
usage: dev-secrets.sh DIR

Makes sure DIR (created with mode 0700 if missing) holds:
  redis-password   the password of the quick start's Redis
  cache-hmac-key   the key that authenticates the aggregator's cached answers
each 64 random hexadecimal characters (32 bytes from openssl rand), without
a newline, mode 0600. A file that is present with at least 32 bytes is kept
as it is; one that is missing or shorter is made anew, written to a temporary
name and renamed.
EOF
}
set -euo pipefail

if (($# != 1)) || [[ $1 == -h || $1 == --help ]]; then
  usage
  [[ ${1:-} == -h || ${1:-} == --help ]] && exit 0
  exit 2
fi
dir=$1
# The aggregator refuses an HMAC key under 32 bytes; the password gets as
# many for the same reason any password does.
readonly min_bytes=32

if [[ ! -d $dir ]]; then
  mkdir -p "$dir"
  chmod 700 "$dir"
fi
umask 077
temp=
trap 'rm -f "$temp"' EXIT
for name in redis-password cache-hmac-key; do
  file=$dir/$name
  if [[ -f $file ]] && (($(stat -c %s "$file") >= min_bytes)); then
    chmod 600 "$file"
    continue
  fi
  temp=$(mktemp "$dir/.$name.XXXXXX")
  openssl rand -hex "$min_bytes" | tr -d '\n' >"$temp"
  mv -f "$temp" "$file"
done

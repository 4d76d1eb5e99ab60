#!/usr/bin/env bash
# Checks scripts/lib/dev-secrets.sh on a scratch directory: both secrets
# made once, random, private, and kept by a second run.
#   dev_secrets_test.sh PATH-TO-dev-secrets.sh
set -euo pipefail

secrets=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dir=$work/secrets
failures=0

check() {
  local what=$1
  shift
  if "$@" >/dev/null; then
    echo "ok: $what"
  else
    echo "FAIL: $what" >&2
    failures=$((failures + 1))
  fi
}

"$secrets" "$dir"
check "the directory is 0700" test "$(stat -c %a "$dir")" = 700
for name in redis-password cache-hmac-key; do
  check "$name is 0600" test "$(stat -c %a "$dir/$name")" = 600
  check "$name is 64 hexadecimal characters" \
    grep -qxE '[0-9a-f]{64}' <(cat "$dir/$name"; echo)
  check "$name has no newline" test "$(stat -c %s "$dir/$name")" = 64
done
check "the two secrets differ" bash -c \
  "! cmp -s '$dir/redis-password' '$dir/cache-hmac-key'"

first=$(cat "$dir/redis-password" "$dir/cache-hmac-key")
chmod 644 "$dir/redis-password"
"$secrets" "$dir"
check "a second run keeps both" \
  test "$(cat "$dir/redis-password" "$dir/cache-hmac-key")" = "$first"
check "a second run makes a readable secret 0600 again" \
  test "$(stat -c %a "$dir/redis-password")" = 600

printf 'short' >"$dir/cache-hmac-key"
"$secrets" "$dir"
check "a key under 32 bytes is made anew" \
  test "$(stat -c %s "$dir/cache-hmac-key")" = 64
check "the password is kept when only the key is made anew" \
  test "$(cat "$dir/redis-password")" = "${first:0:64}"

"$secrets" "$work/other"
check "another directory gets other secrets" bash -c \
  "! cmp -s '$dir/redis-password' '$work/other/redis-password'"
check "nothing is left half-written" bash -c "! compgen -G '$dir/.[a-z]*' >/dev/null"

if ((failures)); then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "all checks passed"

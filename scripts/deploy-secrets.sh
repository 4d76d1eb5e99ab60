#!/usr/bin/env bash
# Makes the deployment's secrets that no certificate authority issues: the
# Redis password and the key of the cache's HMAC, each 32 random bytes as 64
# hex digits. Never overwrites one that exists: rotating them is a decision,
# not a side effect.
#
#   scripts/deploy-secrets.sh                 for docker-compose.yml:
#       .thb/secrets/redis-password and .thb/secrets/cache-hmac-key
#       (.thb/ is git-ignored), and a check that .thb/tls holds the
#       certificates the compose file mounts.
#   scripts/deploy-secrets.sh --kubernetes NAMESPACE
#       the Secrets thb-redis-auth (key password) and thb-cache-hmac (key
#       hmac-key) in NAMESPACE, straight into the cluster: no file is left.
set -euo pipefail
cd "$(dirname "$0")/.."

random_hex() {
  head -c 32 /dev/urandom | od -An -v -tx1 | tr -d ' \n'
}

compose() {
  local dir=.thb/secrets
  mkdir -p "$dir"
  # Only the owner may look inside; the files themselves are readable to
  # all, because compose bind-mounts them as they are, and the containers
  # run as other users (10001 for the services, 999 for Redis).
  chmod 700 .thb "$dir"
  local name
  for name in redis-password cache-hmac-key; do
    if [[ -e "$dir/$name" ]]; then
      echo "$dir/$name exists, kept"
    else
      (umask 077 && random_hex >"$dir/$name.tmp")
      chmod 444 "$dir/$name.tmp"
      mv "$dir/$name.tmp" "$dir/$name"
      echo "$dir/$name written"
    fi
  done
  local missing=()
  for name in ca registry registry-key cooperation cooperation-key \
    aggregator aggregator-key editor editor-key; do
    [[ -r ".thb/tls/$name.pem" ]] || missing+=(".thb/tls/$name.pem")
  done
  if ((${#missing[@]})); then
    echo "missing (the quick start's development PKI writes them):" >&2
    printf '  %s\n' "${missing[@]}" >&2
    exit 1
  fi
}

kubernetes() {
  local namespace="$1"
  local work
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' RETURN
  local secret key
  for pair in thb-redis-auth:password thb-cache-hmac:hmac-key; do
    secret="${pair%%:*}"
    key="${pair#*:}"
    if kubectl -n "$namespace" get secret "$secret" >/dev/null 2>&1; then
      echo "Secret $namespace/$secret exists, kept"
      continue
    fi
    (umask 077 && random_hex >"$work/$key")
    kubectl -n "$namespace" create secret generic "$secret" \
      --from-file="$key=$work/$key" >/dev/null
    rm -f "$work/$key"
    echo "Secret $namespace/$secret created"
  done
}

case "${1:-}" in
  "") compose ;;
  --kubernetes)
    [[ -n "${2:-}" ]] || { echo "usage: $0 [--kubernetes NAMESPACE]" >&2; exit 2; }
    kubernetes "$2"
    ;;
  *) echo "usage: $0 [--kubernetes NAMESPACE]" >&2; exit 2 ;;
esac

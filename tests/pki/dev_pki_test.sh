#!/usr/bin/env bash
# Checks scripts/lib/dev-pki.sh on a scratch directory: the pinned files,
# their names and usages, reuse across runs, regeneration of what is missing
# or expiring, extra and expired client identities, and that a second CA
# does not vouch for the first one's certificates.
#   dev_pki_test.sh PATH-TO-dev-pki.sh
set -euo pipefail

pki=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dir=$work/tls
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
check() {
  local what=$1
  shift
  if "$@" >/dev/null; then echo "ok: $what"; else fail "$what"; fi
}
# sums DIR: a line per PEM file with its checksum.
sums() {
  (cd "$1" && sha256sum -- *.pem)
}
# changed BEFORE AFTER: the files whose checksums differ, on one line.
changed() {
  diff <(echo "$1") <(echo "$2") | sed -n 's/^> [0-9a-f]*  //p' | xargs
}
san() {
  openssl x509 -in "$dir/$1.pem" -noout -ext subjectAltName | sed -n '2s/^ *//p'
}
eku() {
  openssl x509 -in "$dir/$1.pem" -noout -ext extendedKeyUsage |
    sed -n '2s/^ *//p'
}
mode() {
  stat -c %a "$dir/$1"
}
verifies() {
  openssl verify -CAfile "$dir/ca.pem" "$dir/$1.pem" >/dev/null 2>&1
}

services=(registry cooperation aggregator)
roles=(reader editor admin)

"$pki" "$dir"
for name in ca "${services[@]}" "${roles[@]}"; do
  check "$name.pem and $name-key.pem exist" \
    test -s "$dir/$name.pem" -a -s "$dir/$name-key.pem"
  check "$name-key.pem is 0600" test "$(mode "$name-key.pem")" = 600
  check "$name-key.pem is an EC P-256 key" \
    bash -c "openssl pkey -in '$dir/$name-key.pem' -noout -text |
      grep -q 'NIST CURVE: P-256'"
  check "$name.pem verifies against ca.pem" verifies "$name"
done
check "ca.pem is a CA" bash -c \
  "openssl x509 -in '$dir/ca.pem' -noout -ext basicConstraints | grep -q CA:TRUE"
for service in "${services[@]}"; do
  check "$service has the service names" test "$(san "$service")" = \
    "DNS:localhost, DNS:$service, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, URI:spiffe://thb/service/$service"
  check "$service serves and calls" test "$(eku "$service")" = \
    "TLS Web Server Authentication, TLS Web Client Authentication"
  check "$service is a TLS server certificate" \
    openssl verify -purpose sslserver -CAfile "$dir/ca.pem" "$dir/$service.pem"
done
for role in "${roles[@]}"; do
  check "$role has only its URI" test "$(san "$role")" = \
    "URI:spiffe://thb/$role/dev"
  check "$role is a client only" test "$(eku "$role")" = \
    "TLS Web Client Authentication"
  check "$role is refused as a TLS server" bash -c \
    "! openssl verify -purpose sslserver -CAfile '$dir/ca.pem' '$dir/$role.pem' >/dev/null 2>&1"
done
check "leaves last THB_PKI_LEAF_DAYS (365)" bash -c \
  "openssl x509 -in '$dir/reader.pem' -noout -checkend $((364 * 86400)) &&
   ! openssl x509 -in '$dir/reader.pem' -noout -checkend $((366 * 86400))"
check "the CA lasts THB_PKI_CA_DAYS (3650)" bash -c \
  "openssl x509 -in '$dir/ca.pem' -noout -checkend $((3649 * 86400)) &&
   ! openssl x509 -in '$dir/ca.pem' -noout -checkend $((3651 * 86400))"

first=$(sums "$dir")
"$pki" "$dir"
check "a second run changes no byte" test "$(sums "$dir")" = "$first"

rm "$dir/editor.pem"
"$pki" "$dir"
second=$(sums "$dir")
check "a deleted leaf is issued anew" verifies editor
check "only the deleted leaf and its key changed" test \
  "$(changed "$first" "$second")" = "editor-key.pem editor.pem"

chmod 644 "$dir/reader-key.pem"
cp "$dir/admin-key.pem" "$dir/registry-key.pem"
"$pki" "$dir"
check "a key left readable is made 0600 again" test "$(mode reader-key.pem)" = 600
check "a key that does not match its certificate is issued anew" bash -c \
  "test \"\$(openssl x509 -in '$dir/registry.pem' -noout -pubkey)\" = \
        \"\$(openssl pkey -in '$dir/registry-key.pem' -pubout)\""
check "only the key that did not match and its certificate changed" \
  test "$(changed "$second" "$(sums "$dir")")" = \
  "registry-key.pem registry.pem"

third=$(sums "$dir")
THB_PKI_LEAF_DAYS=500 THB_PKI_RENEW_DAYS=400 "$pki" "$dir"
check "leaves expiring within THB_PKI_RENEW_DAYS are issued anew" bash -c \
  "openssl x509 -in '$dir/reader.pem' -noout -checkend $((499 * 86400))"
check "the CA is kept when only leaves expire" \
  test "$(grep ' ca.pem' <<<"$third")" = "$(sums "$dir" | grep ' ca.pem')"

before_ca=$(sums "$dir")
rm "$dir/ca.pem"
"$pki" "$dir"
after_ca=$(sums "$dir")
check "a missing CA makes everything anew" test \
  "$(comm -12 <(echo "$before_ca" | sort) <(echo "$after_ca" | sort) | wc -l)" = 0
for name in "${services[@]}" "${roles[@]}"; do
  check "$name verifies against the new CA" verifies "$name"
done

"$pki" "$dir" client tester spiffe://thb/reader/tester
check "an extra client has the URI given" test "$(san tester)" = \
  "URI:spiffe://thb/reader/tester"
check "an extra client is a client only" test "$(eku tester)" = \
  "TLS Web Client Authentication"
check "an extra client verifies" verifies tester
check "an extra client's key is 0600" test "$(mode tester-key.pem)" = 600
tester=$(sha256sum <"$dir/tester.pem")
"$pki" "$dir" client tester spiffe://thb/reader/tester
check "an extra client is kept when asked again" \
  test "$(sha256sum <"$dir/tester.pem")" = "$tester"
"$pki" "$dir" client tester spiffe://thb/editor/tester
check "an extra client with another URI is issued anew" test \
  "$(san tester)" = "URI:spiffe://thb/editor/tester"

"$pki" "$dir" client late spiffe://thb/reader/late --expired
check "--expired yields an expired certificate" bash -c \
  "! openssl x509 -in '$dir/late.pem' -noout -checkend 0 >/dev/null"
check "--expired is refused by verify now" bash -c \
  "! openssl verify -CAfile '$dir/ca.pem' '$dir/late.pem' >/dev/null 2>&1"
check "--expired verifies two hours ago" openssl verify \
  -attime $(($(date +%s) - 7200)) -CAfile "$dir/ca.pem" "$dir/late.pem"
check "--expired has the URI given" test "$(san late)" = \
  "URI:spiffe://thb/reader/late"

"$pki" "$work/other"
check "a second CA is another one" bash -c \
  "! cmp -s '$dir/ca.pem' '$work/other/ca.pem'"
check "a second CA does not vouch for the first one's leaves" bash -c \
  "! openssl verify -CAfile '$work/other/ca.pem' '$dir/reader.pem' >/dev/null 2>&1"

check "a bad NAME is refused" bash -c \
  "! '$pki' '$dir' client ../x spiffe://thb/reader/x 2>/dev/null"
check "the name ca is refused" bash -c \
  "! '$pki' '$dir' client ca spiffe://thb/reader/x 2>/dev/null"
check "a URI with a space is refused" bash -c \
  "! '$pki' '$dir' client x 'spiffe://thb/reader/x y' 2>/dev/null"
check "a renewal window as long as a leaf is refused" bash -c \
  "! THB_PKI_LEAF_DAYS=30 THB_PKI_RENEW_DAYS=30 '$pki' '$dir' 2>/dev/null"
check "nothing is left staged" bash -c \
  "! compgen -G '$dir/.dev-pki.stage.*' >/dev/null"

if ((failures)); then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "all checks passed"

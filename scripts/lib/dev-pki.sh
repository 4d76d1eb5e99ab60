#!/usr/bin/env bash
# The development PKI of thb: a CA, one certificate per service and the
# reader, editor and admin client identities, as PEM files in one directory.
# For loopback development and tests only; real deployments bring their own
# CA (README.md, "Calling thb").
usage() {
  cat <<'EOF'
usage: dev-pki.sh DIR
       dev-pki.sh DIR client NAME URI [--expired]

dev-pki.sh DIR
  Makes sure DIR holds the development PKI, creating DIR if needed:
    ca.pem, ca-key.pem                     the CA (its own, random name)
    registry.pem, registry-key.pem         services: serverAuth and clientAuth,
    cooperation.pem, cooperation-key.pem     SAN DNS:localhost, DNS:NAME, IP:127.0.0.1,
    aggregator.pem, aggregator-key.pem       IP:::1, URI:spiffe://thb/service/NAME
    reader.pem, reader-key.pem             clients: clientAuth only, SAN
    editor.pem, editor-key.pem               URI:spiffe://thb/ROLE/dev
    admin.pem, admin-key.pem
  Files that are present and valid are kept byte for byte. A certificate or
  key that is missing, does not match, is not signed by ca.pem, has other
  names or usages, or expires within THB_PKI_RENEW_DAYS is issued anew from
  the existing CA; a missing or expiring CA makes everything anew.

dev-pki.sh DIR client NAME URI [--expired]
  Issues the client identity NAME.pem and NAME-key.pem in DIR (clientAuth
  only, the single SAN URI:URI) from DIR's CA, making the CA first if DIR
  has none. Valid files of NAME with the same URI are kept. With --expired
  the certificate is issued anew every time, valid from the CA's start until
  an hour ago: expired, and otherwise valid (openssl verify -attime).
  NAME: lower-case letters, digits, '-' and '_', not "ca".
  A second, unrelated CA is simply another DIR.

Keys are EC P-256 (PKCS #8), mode 0600; every file is written to a temporary
name and renamed, so an interrupted run never leaves a half-written file.
Runs on the same DIR are serialized with flock.

Environment:
  THB_PKI_CA_DAYS     validity of a new CA in days (default 3650)
  THB_PKI_LEAF_DAYS   validity of a new service or client certificate in
                      days (default 365)
  THB_PKI_RENEW_DAYS  a certificate expiring within this many days is issued
                      anew (default 30; below both validities)
EOF
}
set -euo pipefail

die() {
  echo "dev-pki.sh: $*" >&2
  exit 2
}

ca_days=${THB_PKI_CA_DAYS:-3650}
leaf_days=${THB_PKI_LEAF_DAYS:-365}
renew_days=${THB_PKI_RENEW_DAYS:-30}
for setting in "THB_PKI_CA_DAYS=$ca_days" "THB_PKI_LEAF_DAYS=$leaf_days" \
    "THB_PKI_RENEW_DAYS=$renew_days"; do
  [[ ${setting#*=} =~ ^[0-9]{1,6}$ ]] ||
    die "${setting%%=*} must be a whole number of days, got '${setting#*=}'"
done
# Otherwise every run would issue anew what it has just issued.
((renew_days < leaf_days && renew_days < ca_days)) ||
  die "THB_PKI_RENEW_DAYS ($renew_days) must be below THB_PKI_LEAF_DAYS" \
    "($leaf_days) and THB_PKI_CA_DAYS ($ca_days)"

# Leaves start an hour back so that a clock a little behind still accepts
# them; the CA a day back so that an expired leaf fits inside its validity.
readonly leaf_backdate=3600 ca_backdate=86400
readonly services=(registry cooperation aggregator)
readonly roles=(reader editor admin)

if (($# == 0)) || [[ $1 == -h || $1 == --help ]]; then
  usage
  (($# == 0)) && exit 2
  exit 0
fi
dir=$1
shift
mode=all
expired=false
if (($# > 0)); then
  [[ $1 == client ]] || { usage >&2; die "unknown mode '$1'"; }
  (($# == 3 || $# == 4)) || { usage >&2; die "client needs NAME and URI"; }
  mode=client
  client_name=$2
  client_uri=$3
  if (($# == 4)); then
    [[ $4 == --expired ]] || die "unknown option '$4'"
    expired=true
  fi
  [[ $client_name =~ ^[a-z0-9][a-z0-9_-]{0,62}$ && $client_name != ca ]] ||
    die "NAME must be lower-case letters, digits, '-' and '_' (not 'ca')," \
      "got '$client_name'"
  # The URI goes into an OpenSSL config file, where '$', '#', quotes and
  # spaces would mean something else.
  uri_pattern='^[A-Za-z][A-Za-z0-9+.-]*:[A-Za-z0-9._~:/?@!&*+,;=%-]+$'
  [[ $client_uri =~ $uri_pattern ]] ||
    die "URI must be 'scheme:rest' without spaces, '\$', '#' or quotes," \
      "got '$client_uri'"
fi

if [[ ! -d $dir ]]; then
  mkdir -p "$dir"
  chmod 700 "$dir"
fi
exec 9>"$dir/.dev-pki.lock"
flock 9
# Under the lock, a staging directory is what an interrupted run left.
rm -rf "$dir"/.dev-pki.stage.*
stage=$(mktemp -d "$dir/.dev-pki.stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
umask 077
now=$(date -u +%s)

# timestamp EPOCH: the form openssl ca's -startdate and -enddate take.
timestamp() {
  date -u -d "@$1" +%Y%m%d%H%M%SZ
}

cat >"$stage/openssl.cnf" <<EOF
[ca]
default_ca = dev_ca

[dev_ca]
database = $stage/index.txt
new_certs_dir = $stage/issued
serial = $stage/serial
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none

[policy_any]
organizationName = optional
commonName = supplied

[req]
distinguished_name = req_dn
prompt = no

[req_dn]
CN = unused
EOF

# new_key FILE
new_key() {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$1" 2>/dev/null
}

# sign CSR OUT START END EXTENSIONS-FILE [SIGNER-ARGS...]
sign() {
  local csr=$1 out=$2 start=$3 end=$4 extfile=$5
  shift 5
  # openssl ca keeps a record and a copy of every certificate it issues;
  # each one here starts from an empty database.
  rm -rf "$stage/issued" "$stage"/index.txt*
  mkdir "$stage/issued"
  : >"$stage/index.txt"
  openssl ca -batch -config "$stage/openssl.cnf" -notext -rand_serial \
    -preserveDN -in "$csr" -out "$out" -startdate "$(timestamp "$start")" \
    -enddate "$(timestamp "$end")" -extfile "$extfile" -extensions ext \
    "$@" 2>"$stage/openssl.log" ||
    { cat "$stage/openssl.log" >&2; die "openssl ca failed for $out"; }
}

# install NAME: moves NAME-key.pem, then NAME.pem from the stage into DIR.
# The certificate goes last: a key without its certificate fails the
# key-matches-certificate check of the next run, which issues both anew.
install() {
  chmod 600 "$stage/$1-key.pem"
  chmod 644 "$stage/$1.pem"
  mv -f "$stage/$1-key.pem" "$dir/$1-key.pem"
  mv -f "$stage/$1.pem" "$dir/$1.pem"
}

# shown NAME: NAME.pem's public key, subjectAltName and extendedKeyUsage as
# openssl prints them, if it is still valid past the renewal window; one
# openssl run, since each costs a noticeable fraction of a second.
shown() {
  openssl x509 -in "$dir/$1.pem" -noout -pubkey \
    -ext subjectAltName,extendedKeyUsage \
    -checkend $((renew_days * 86400)) 2>/dev/null
}

# holds_key NAME SHOWN: NAME-key.pem is the key of the certificate shown.
holds_key() {
  local key_pub
  key_pub=$(openssl pkey -in "$dir/$1-key.pem" -pubout 2>/dev/null) &&
    [[ -n $key_pub && $2 == *"$key_pub"* ]]
}

ca_is_valid() {
  local ca
  [[ -f $dir/ca.pem && -f $dir/ca-key.pem ]] && ca=$(shown ca) &&
    holds_key ca "$ca" &&
    openssl verify -CAfile "$dir/ca.pem" "$dir/ca.pem" >/dev/null 2>&1
}

make_ca() {
  local name
  # A random name per CA, so that two CAs never look alike to a verifier.
  name="thb development CA $(openssl rand -hex 4)"
  new_key "$stage/ca-key.pem"
  openssl req -new -config "$stage/openssl.cnf" -key "$stage/ca-key.pem" \
    -subj "/O=thb development/CN=$name" -out "$stage/ca.csr"
  printf '[ext]\nbasicConstraints = critical, CA:TRUE, pathlen:0\n%s\n%s\n' \
    'keyUsage = critical, keyCertSign, cRLSign' \
    'subjectKeyIdentifier = hash' >"$stage/ca.ext"
  sign "$stage/ca.csr" "$stage/ca.pem" $((now - ca_backdate)) \
    $((now + ca_days * 86400)) "$stage/ca.ext" -selfsign \
    -keyfile "$stage/ca-key.pem"
  install ca
}

# The subjectAltName and extendedKeyUsage of each kind, as openssl writes
# them in a config (spec) and prints them back (shown).
san_spec() {
  if [[ $1 == service ]]; then
    # The service's own name too: the compose services dial each other by it.
    printf 'DNS.1 = localhost\nDNS.2 = %s\nIP.1 = 127.0.0.1\nIP.2 = ::1\nURI.1 = %s\n' \
      "${2##*/}" "$2"
  else
    printf 'URI.1 = %s\n' "$2"
  fi
}
san_shown() {
  if [[ $1 == service ]]; then
    echo "DNS:localhost, DNS:${2##*/}, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, URI:$2"
  else
    echo "URI:$2"
  fi
}
eku_spec() {
  if [[ $1 == service ]]; then echo 'serverAuth, clientAuth'; else echo 'clientAuth'; fi
}
eku_shown() {
  if [[ $1 == service ]]; then
    echo 'TLS Web Server Authentication, TLS Web Client Authentication'
  else
    echo 'TLS Web Client Authentication'
  fi
}

# leaf_is_valid NAME KIND URI: present, matching, signed by ca.pem, with the
# names and usages of KIND, and not expiring within the renewal window.
leaf_is_valid() {
  local leaf nl=$'\n'
  [[ -f $dir/$1.pem && -f $dir/$1-key.pem ]] && leaf=$(shown "$1") &&
    holds_key "$1" "$leaf" &&
    [[ $leaf == *"$nl    $(san_shown "$2" "$3")$nl"* ]] &&
    [[ $leaf == *"$nl    $(eku_shown "$2")$nl"* ]] &&
    openssl verify -CAfile "$dir/ca.pem" "$dir/$1.pem" >/dev/null 2>&1
}

# issue NAME KIND URI START END
issue() {
  local name=$1 kind=$2 uri=$3
  new_key "$stage/$name-key.pem"
  openssl req -new -config "$stage/openssl.cnf" \
    -key "$stage/$name-key.pem" -subj "/O=thb development/CN=$name" \
    -out "$stage/$name.csr"
  {
    echo '[ext]'
    echo 'basicConstraints = critical, CA:FALSE'
    echo 'keyUsage = critical, digitalSignature'
    echo "extendedKeyUsage = $(eku_spec "$kind")"
    echo 'subjectKeyIdentifier = hash'
    echo 'authorityKeyIdentifier = keyid'
    echo 'subjectAltName = @san'
    echo '[san]'
    san_spec "$kind" "$uri"
  } >"$stage/$name.ext"
  sign "$stage/$name.csr" "$stage/$name.pem" "$4" "$5" "$stage/$name.ext" \
    -cert "$dir/ca.pem" -keyfile "$dir/ca-key.pem"
  install "$name"
}

# ensure NAME KIND URI: keeps NAME's files if valid, else issues them.
ensure() {
  if leaf_is_valid "$@"; then
    chmod 600 "$dir/$1-key.pem"
  else
    issue "$@" $((now - leaf_backdate)) $((now + leaf_days * 86400))
  fi
}

if ca_is_valid; then
  chmod 600 "$dir/ca-key.pem"
else
  make_ca
fi

if [[ $mode == all ]]; then
  for service in "${services[@]}"; do
    ensure "$service" service "spiffe://thb/service/$service"
  done
  for role in "${roles[@]}"; do
    ensure "$role" client "spiffe://thb/$role/dev"
  done
elif [[ $expired == false ]]; then
  ensure "$client_name" client "$client_uri"
else
  ca_start=$(date -u -d "$(openssl x509 -in "$dir/ca.pem" -noout -startdate |
    cut -d= -f2)" +%s)
  ((ca_start < now - leaf_backdate)) ||
    die "the CA in $dir started less than an hour ago; an expired" \
      "certificate would start before it"
  issue "$client_name" client "$client_uri" "$ca_start" $((now - leaf_backdate))
fi

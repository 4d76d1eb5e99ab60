#!/usr/bin/env bash
# scripts/contracts.sh on a scratch repository holding this checkout's
# buf.yaml and proto/: the unchanged contracts pass; a renamed field, a
# changed field number, a breaking commit anywhere on a branch, a change since
# the last release tag and a lint error each fail; a shallow clone is linted
# and says loudly that it could not compare.
#   contracts_test.sh BUF
set -euo pipefail
export THB_BUF=$1
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
contracts=$source_dir/scripts/contracts.sh
unset THB_CONTRACTS_AGAINST

tmp=$(mktemp -d "${TMPDIR:-/tmp}/thb-contracts-test-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
repo=$tmp/repo
export GIT_AUTHOR_NAME=thb GIT_AUTHOR_EMAIL=thb@localhost
export GIT_COMMITTER_NAME=thb GIT_COMMITTER_EMAIL=thb@localhost
export GIT_CONFIG_NOSYSTEM=1 HOME=$tmp

fail() {
  echo "FAIL: $*" >&2
  echo "--- contracts.sh said:" >&2
  cat "$tmp/out" >&2
  exit 1
}

# passes DESCRIPTION [DIR]: contracts.sh on DIR (the scratch repository) must
# succeed and must have compared with an earlier commit.
passes() {
  if ! "$contracts" "${2:-$repo}" >"$tmp/out" 2>&1; then
    fail "$1: contracts.sh failed"
  fi
  grep -q "buf breaking against .* passed" "$tmp/out" ||
    fail "$1: buf breaking did not run"
}

# fails DESCRIPTION EXPECTED: contracts.sh must fail, saying EXPECTED.
fails() {
  if "$contracts" "$repo" >"$tmp/out" 2>&1; then
    fail "$1: contracts.sh passed"
  fi
  grep -qF -- "$2" "$tmp/out" || fail "$1: no \"$2\" in the output"
}

commit() {
  git -C "$repo" add -A
  git -C "$repo" commit -q -m "$1"
}

registry=$repo/proto/thb/registry/v1/registry.proto
mkdir -p "$repo"
cp -r "$source_dir/buf.yaml" "$source_dir/proto" "$repo/"
git -C "$repo" init -q -b main
commit "contracts"
echo "notes" >"$repo/NOTES"
commit "no contract change"

passes "unchanged contracts"

sed -i 's/^  string iso_alpha2 = 2;/  string iso_alpha_2 = 2;/' "$registry"
git -C "$repo" diff --quiet && fail "the rename changed nothing"
fails "a renamed field" 'changed name from "iso_alpha2" to "iso_alpha_2"'
git -C "$repo" checkout -q -- proto

sed -i 's/^  string iso_alpha3 = 3;/  string iso_alpha3 = 30;/' "$registry"
git -C "$repo" diff --quiet && fail "the renumbering changed nothing"
fails "a changed field number" 'Previously present field "3" with name "iso_alpha3"'
git -C "$repo" checkout -q -- proto

# On a branch, the base is where it left main, not only its last commit.
git -C "$repo" checkout -q -b feature
sed -i 's/^  string iso_alpha2 = 2;/  string iso_alpha_2 = 2;/' "$registry"
commit "rename a field"
echo "more notes" >>"$repo/NOTES"
commit "no contract change on the branch"
fails "a breaking commit before the last one of a branch" \
  'changed name from "iso_alpha2" to "iso_alpha_2"'
git -C "$repo" checkout -q main

sed -i 's/^message Country {/message Country {\n  string badName = 99;/' \
  "$registry"
fails "a lint error" 'should be lower_snake_case'
git -C "$repo" checkout -q -- proto

# A shallow clone has no previous commit: it lints, and says it skipped.
git clone -q --depth 1 "file://$repo" "$tmp/shallow"
if ! "$contracts" "$tmp/shallow" >"$tmp/out" 2>&1; then
  fail "a shallow clone: contracts.sh failed"
fi
grep -q "buf lint passed" "$tmp/out" || fail "a shallow clone was not linted"
grep -q "SKIPPED buf breaking: this shallow clone" "$tmp/out" ||
  fail "a shallow clone: no loud skip"

# A release tag guards what several commits of main changed since.
git -C "$repo" tag v1.0.0
sed -i 's/^  string iso_alpha3 = 3;/  string iso_alpha_3 = 3;/' "$registry"
commit "rename a field on main"
echo "even more notes" >>"$repo/NOTES"
commit "no contract change on main"
fails "a change since the last release" \
  'proto/ breaks the contract of release v1.0.0'
grep -q "against the previous commit of main .* passed" "$tmp/out" ||
  fail "the previous commit of main was not compared with"

echo "contracts_test: all cases passed"

#!/usr/bin/env bash
# Guards the contracts of proto/: `buf lint` (STANDARD, see buf.yaml), then
# `buf breaking` of the working tree's protos against
#   - the previous commit of main: the merge-base of HEAD with origin/main
#     (or main) when HEAD is on a branch of its own, so every commit the
#     branch adds is covered; HEAD~1 when HEAD is on main itself (a clone
#     of main, as CI has);
#   - and the last release tag (v*) reachable from HEAD, when there is one.
#   scripts/contracts.sh [REPOSITORY]   (default: the one holding this script)
# THB_CONTRACTS_AGAINST=REV compares against REV instead of the previous
# commit. THB_BUF names the buf binary (default: the one scripts/deps.sh
# installs). A clone without the previous commit (shallow, or a first commit)
# is told so loudly and only linted.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
repo=$(cd "${1:-$here}" && pwd)
buf="${THB_BUF:-$here/build/tools/node_modules/.bin/buf}"
if [[ ! -x $buf ]]; then
  echo "thb: contracts: no buf at $buf; scripts/deps.sh installs it" >&2
  exit 1
fi
cd "$repo"

"$buf" lint
echo "thb: contracts: buf lint passed" >&2

skip() {
  echo "thb: contracts: ############################################" >&2
  echo "thb: contracts: SKIPPED buf breaking: $*" >&2
  echo "thb: contracts: ############################################" >&2
}

if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  skip "$repo is no git work tree, so there is no earlier contract"
  exit 0
fi

# previous_commit: prints the commit of main before this change, or
# nothing (and says why) when the history does not hold it.
previous_commit() {
  if [[ -n ${THB_CONTRACTS_AGAINST:-} ]]; then
    git rev-parse --verify "$THB_CONTRACTS_AGAINST^{commit}"
    return
  fi
  local main base
  for main in origin/main main; do
    if git rev-parse --verify -q "$main^{commit}" >/dev/null; then
      base=$(git merge-base HEAD "$main" || true)
      if [[ -n $base && $base != "$(git rev-parse HEAD)" ]]; then
        echo "thb: contracts: comparing with the merge-base with $main" >&2
        echo "$base"
        return
      fi
      break
    fi
  done
  if git rev-parse --verify -q 'HEAD~1^{commit}'; then
    return
  fi
  if [[ $(git rev-parse --is-shallow-repository) == true ]]; then
    skip "this shallow clone lacks HEAD~1;" \
      "'git fetch --deepen=1' (or a full clone) lets it compare"
  else
    skip "HEAD is the first commit, so there is no earlier contract"
  fi
}

# breaking_against REV WHAT: buf breaking of proto/ against proto/ at REV.
breaking_against() {
  local rev=$1 what=$2
  if ! git cat-file -e "$rev:proto" 2>/dev/null; then
    skip "$what ($rev) has no proto/"
    return
  fi
  local old status=0
  old=$(mktemp -d "${TMPDIR:-/tmp}/thb-contracts-XXXXXX")
  git archive "$rev" proto | tar -x -C "$old"
  "$buf" breaking proto --against "$old/proto" || status=$?
  rm -rf "$old"
  if ((status != 0)); then
    echo "thb: contracts: proto/ breaks the contract of $what ($rev)" >&2
    return 1
  fi
  echo "thb: contracts: buf breaking against $what ($rev) passed" >&2
}

previous=$(previous_commit)
if [[ -n $previous ]]; then
  breaking_against "$previous" "the previous commit of main"
fi
release=$(git describe --tags --abbrev=0 --match 'v[0-9]*' HEAD 2>/dev/null ||
  true)
if [[ -n $release ]]; then
  breaking_against "$(git rev-parse "$release^{commit}")" "release $release"
fi

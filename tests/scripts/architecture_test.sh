#!/usr/bin/env bash
# docs/ARCHITECTURE.md stays true: every path it names (a word in backticks
# with a "/") exists, and every name it gives after a path (Class::Method, a
# CamelCase function or type, an UPPER_CASE macro) is found in the nearest
# path before it in the same table row, list item or paragraph (when that
# path is a file). Then the same check must refuse a copy of the page that
# names a file that is gone and a function a file does not hold.
#   architecture_test.sh REPOSITORY
set -euo pipefail
root="$1"

# Prints each item of a Markdown page on one line: a table row, a list item
# with its continuation lines, or a paragraph.
items() {
  awk '
    function flush() { if (item != "") print item; item = "" }
    /^[[:space:]]*$/ { flush(); next }
    /^\|/ || /^- / || /^[0-9]+\. / || /^#/ { flush(); item = $0; next }
    { item = item " " $0 }
    END { flush() }
  ' "$1"
}

# Checks one page; prints what is wrong and fails if anything is.
check() {
  local page="$1" wrong=0 line token current name
  while IFS= read -r line; do
    current=""
    while IFS= read -r token; do
      token="${token//\`/}"
      if [[ "$token" == */* && "$token" != *" "* ]]; then
        if [[ ! -e "$root/$token" ]]; then
          echo "names $token, which does not exist"
          wrong=1
        fi
        current="$token"
      elif [[ "$token" =~ ^([A-Z][A-Za-z0-9_]*::)*[A-Z][A-Za-z0-9_]*$ ||
              "$token" =~ ^[A-Z][A-Za-z0-9]*::[a-z_][A-Za-z0-9_]*$ ]]; then
        name="${token##*::}"
        if [[ -z "$current" ]]; then
          echo "names $token before any file"
          wrong=1
        elif [[ -f "$root/$current" ]] &&
             ! grep -q -- "$name" "$root/$current"; then
          echo "names $token after $current, which does not hold it"
          wrong=1
        fi
      fi
    done < <(grep -o '`[^`]*`' <<<"$line" || true)
  done < <(items "$page")
  return "$wrong"
}

if ! check "$root/docs/ARCHITECTURE.md"; then
  echo "FAIL: docs/ARCHITECTURE.md names what is not there" >&2
  exit 1
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp "$root/docs/ARCHITECTURE.md" "$scratch/gone.md"
printf '\n- `common/no_such_room.h` holds nothing.\n' >>"$scratch/gone.md"
cp "$root/docs/ARCHITECTURE.md" "$scratch/moved.md"
printf '\n- `common/server.h` `NoSuchFunction` is elsewhere.\n' \
  >>"$scratch/moved.md"
for page in gone moved; do
  if check "$scratch/$page.md" >/dev/null; then
    echo "FAIL: the check passed a page that names what is $page" >&2
    exit 1
  fi
done
echo "PASS: docs/ARCHITECTURE.md names only what is there"

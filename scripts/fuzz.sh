#!/usr/bin/env bash
# Runs the libFuzzer targets of fuzz/ on their seed corpora, one after the
# other, each for THB_FUZZ_SECONDS (default 600) under a time and memory
# budget. Builds them first (scripts/build.sh Asan) unless THB_FUZZ_NO_BUILD
# is set.
#   scripts/fuzz.sh                      every target
#   scripts/fuzz.sh dates page_token     those targets
#   THB_FUZZ_SECONDS=3600 scripts/fuzz.sh query_engine
# What a run finds (crash-*, leak-*, timeout-*, oom-*) is written to
# build/asan/fuzz-artifacts/; new interesting inputs to
# build/asan/fuzz-corpus/<target>/ (the seed corpus in the repository is
# only read). Reproduce a finding with
#   build/asan/fuzz/<target>_fuzzer <artifact>
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${THB_FUZZ_SECONDS:-600}"
build=build/asan
all=(dataset_text dataset_json page_token dates address record_validation
     update_mask query_validators query_engine cooperation_core registry_core)
targets=("$@")
if ((${#targets[@]} == 0)); then
  targets=("${all[@]}")
fi

if [[ -z "${THB_FUZZ_NO_BUILD:-}" ]]; then
  THB_BUILD_TARGETS=fuzzers scripts/build.sh Asan
fi

# The largest input each target takes: whole datasets and call sequences
# need room, a date or an address does not.
max_len() {
  case "$1" in
    dataset_text | dataset_json | cooperation_core) echo 16384 ;;
    dates | page_token | address) echo 256 ;;
    *) echo 4096 ;;
  esac
}

mkdir -p "$build/fuzz-artifacts"
failed=()
for target in "${targets[@]}"; do
  binary="$build/fuzz/${target}_fuzzer"
  seeds="fuzz/corpus/$target"
  work="$build/fuzz-corpus/$target"
  if [[ ! -x "$binary" || ! -d "$seeds" ]]; then
    echo "thb-fuzz: no target $target" >&2
    exit 2
  fi
  mkdir -p "$work"
  start=$SECONDS
  # -timeout: one input may take at most 10 s; -rss_limit_mb: the process
  # at most 2 GiB; -malloc_limit_mb: one allocation at most 512 MiB.
  if "$binary" "$work" "$seeds" -max_total_time="$seconds" \
      -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 \
      -max_len="$(max_len "$target")" -print_final_stats=1 \
      -artifact_prefix="$build/fuzz-artifacts/$target-" \
      >"$build/fuzz-artifacts/$target.log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' \
      "$build/fuzz-artifacts/$target.log" | grep -o '[0-9]*$' || echo "?")
    echo "thb-fuzz: $target: $((SECONDS - start)) s, $runs runs, no finding"
  else
    echo "thb-fuzz: $target: FINDING after $((SECONDS - start)) s; log:" \
      "$build/fuzz-artifacts/$target.log" >&2
    tail -n 40 "$build/fuzz-artifacts/$target.log" >&2
    failed+=("$target")
  fi
done
if ((${#failed[@]} > 0)); then
  echo "thb-fuzz: findings in ${failed[*]}" >&2
  exit 1
fi

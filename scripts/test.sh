#!/usr/bin/env bash
# Runs every test: installs what is missing, then
#   0. contracts: buf lint and buf breaking of proto/ (scripts/contracts.sh),
#      first since it takes seconds;
#   1. Release: builds, runs the whole suite under CTest;
#   2. Asan: the Debug build with AddressSanitizer + UndefinedBehaviorSanitizer
#      (clang), the whole suite again, servers included;
#   3. fuzz: each libFuzzer target of that build on its seed corpus for
#      THB_FUZZ_SECONDS (default 20) seconds;
#   4. Tsan: the concurrency tests built with ThreadSanitizer.
# Each phase says how long it took. THB_TEST_PHASES (e.g. "release fuzz")
# runs only some; "debug" (the plain Debug build, compiled only) is there on
# request. See docs/DECISIONS.md (Fuzzing and sanitizers) for what each
# phase costs.
set -euo pipefail
cd "$(dirname "$0")/.."

jobs="${THB_JOBS:-$(nproc)}"
phases="${THB_TEST_PHASES:-contracts release asan fuzz tsan}"
timings=()

phase() {
  local name="$1"
  shift
  [[ " $phases " == *" $name "* ]] || return 0
  local start=$SECONDS
  echo "thb: phase $name" >&2
  "$@"
  timings+=("$name $((SECONDS - start)) s")
  echo "thb: phase $name took $((SECONDS - start)) s" >&2
}

contracts() {
  scripts/contracts.sh
}

release() {
  scripts/build.sh Release
  ctest --test-dir build/release --output-on-failure -j "$jobs" --timeout 600
}

# The same timeout as Release: under ASan the slowest test takes under a
# minute (docs/DECISIONS.md), and a hang should not eat the CI's hour.
asan() {
  scripts/build.sh Asan
  ctest --test-dir build/asan --output-on-failure -j "$jobs" --timeout 600
}

debug() {
  scripts/build.sh Debug
}

# Builds the fuzz targets (only them, unless asan built everything).
fuzz() {
  THB_FUZZ_SECONDS="${THB_FUZZ_SECONDS:-20}" scripts/fuzz.sh
}

# The tests of the code whose point is concurrency, and the shim that lets
# TSan see Abseil's mutexes; see docs/DECISIONS.md (Fuzzing and sanitizers).
tsan_tests=(absl_tsan_shim_test common_executor_test
            common_revision_notifier_test common_watch_reactor_test
            common_list_watch_test response_cache_test
            aggregator_index_follower_threads_test)
tsan() {
  THB_BUILD_TARGETS="${tsan_tests[*]}" scripts/build.sh Tsan
  local test binary
  for test in "${tsan_tests[@]}"; do
    binary=$(find build/tsan/tests -name "$test" -type f -executable)
    if ! "$binary" --gtest_brief=1 >"build/tsan/$test.log" 2>&1; then
      tail -n 60 "build/tsan/$test.log" >&2
      echo "thb: $test failed under ThreadSanitizer" >&2
      return 1
    fi
    tail -n 3 "build/tsan/$test.log"
  done
}

scripts/deps.sh
phase contracts contracts
phase release release
phase debug debug
phase asan asan
phase fuzz fuzz
phase tsan tsan
printf 'thb: %s\n' "${timings[@]}"
echo "thb: all tests passed"

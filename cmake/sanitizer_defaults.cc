// Default options of the sanitizers, read by their runtimes at start (the
// environment variables ASAN_OPTIONS, UBSAN_OPTIONS, LSAN_OPTIONS and
// TSAN_OPTIONS still override them). Compiled only into sanitized builds.

extern "C" {

// Stop at the first error, with its stack: a test must fail on it.
const char* __asan_default_options() {
  return "halt_on_error=1:abort_on_error=0:detect_leaks=1:"
         "check_initialization_order=1:"
         "strict_string_checks=1";
}

const char* __ubsan_default_options() {
  return "halt_on_error=1:print_stacktrace=1";
}

const char* __tsan_default_options() {
  return "halt_on_error=1:second_deadlock_stack=1";
}

// Leaks LeakSanitizer must not report, each for a reason outside our code.
// Keep this list narrow: a suppression names the library that owns the
// memory, never our own code.
const char* __lsan_default_suppressions() { return ""; }

}  // extern "C"

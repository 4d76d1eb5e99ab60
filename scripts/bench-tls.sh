#!/usr/bin/env bash
# What security costs a read: cached CountCountries (and the echo RPC, the
# transport's ceiling) over mutual TLS with the authorization policy, the
# client calling with the reader's certificate, against the same over
# plaintext, measured in the same run. The target (issue 10): the secure
# figure at least 0.85 times the plaintext one at 64 calls in flight.
#
#   scripts/bench-tls.sh [--records=20000] [--seconds=5] [--rounds=3]
#                        [--in_flight=64]
#
# Starts the suite twice on free loopback ports, each with its own Redis
# and data: once secure, as deployed, and once with --insecure on loopback,
# the plaintext baseline, labelled so everywhere. Warms both caches, then
# runs --rounds rounds; each round measures both suites, in alternating
# order, so that drift of the shared machine falls on both alike. Prints the
# raw runs on stderr and, on stdout, a markdown table of the medians, the
# ratio and the verdict; exits 0 whatever the verdict (the figures are the
# result), non-zero only when a run fails.
set -euo pipefail

records=20000 seconds=5 rounds=3 in_flight=64
for arg in "$@"; do
  case "$arg" in
    --records=*) records=${arg#*=} ;;
    --seconds=*) seconds=${arg#*=} ;;
    --rounds=*) rounds=${arg#*=} ;;
    --in_flight=*) in_flight=${arg#*=} ;;
    *) echo "usage: scripts/bench-tls.sh [--records=N] [--seconds=S] [--rounds=R] [--in_flight=N]" >&2
       exit 2 ;;
  esac
done
# Bounds: the whole run stays within minutes on a small machine.
for bound in "records 1 1000000 $records" "seconds 1 60 $seconds" \
    "rounds 1 9 $rounds" "in_flight 1 1000 $in_flight"; do
  read -r name low high value <<<"$bound"
  if ! [[ "$value" =~ ^[0-9]+$ ]] || ((value < low || value > high)); then
    echo "bench-tls.sh: --$name must be a whole number from $low to $high, got '$value'" >&2
    exit 2
  fi
done

source "$(dirname "$0")/lib/bench-common.sh"
bench_init

# suite MODE NAME: Redis, registry, cooperation with $records synthetic
# records imported as the editor, and the aggregator, in MODE; sets
# target_MODE and reader_MODE (the load's client flags).
suite() {
  bench_security "$1"
  start_redis "$2-redis"
  start_registry "$2-registry"
  start_cooperation "$2-cooperation"
  "$bin/bench/import_bench" "${as_editor[@]}" --cooperation="$cooperation" \
    --records="$records" >&2
  start_aggregator "$2-aggregator" "unix:$work/$2-redis.sock"
  printf -v "target_$1" '%s' "$aggregator"
  printf -v "pid_$1" '%s' "$aggregator_pid"
  eval "reader_$1=(\"\${as_reader[@]}\")"
}

echo "machine: $(machine_line)" >&2
suite tls secure
suite plaintext baseline

# The CPU time process $1 has used, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
ticks_per_second=$(getconf CLK_TCK)

# load MODE RPC: one grpc_load run; its output, labelled with the mode, on
# stderr, its first line on stdout with the aggregator's CPU time per call
# (µs) appended as server_cpu=. The caches are warm and the connection's
# handshake is a millisecond of the run, so every call of the run is counted
# (no warm-up), and the server's CPU time covers exactly those calls.
load() {
  local target="target_$1" reader="reader_$1[@]" pid="pid_$1" out before after
  before=$(cpu_ticks "${!pid}")
  out=$("$bin/bench/grpc_load" "${!reader}" --target="${!target}" --rpc="$2" \
    --in_flight="$in_flight" --duration="${seconds}s" --warmup=0s \
    --max_calls=5000000 2>/dev/null)
  after=$(cpu_ticks "${!pid}")
  sed "s/^/$1 /" <<<"$out" >&2
  awk -v line="$(head -1 <<<"$out")" -v calls="$(kv calls "$(head -1 <<<"$out")")" \
    -v ticks=$((after - before)) -v hz="$ticks_per_second" 'BEGIN {
      printf "%s server_cpu=%.1f\n", line, (calls > 0 ? ticks / hz * 1e6 / calls : 0) }'
}

# The first CountCountries computes and caches the answer; every measured
# call is then a hit (grpc_load's cache= line says so).
for mode in tls plaintext; do
  target="target_$mode" reader="reader_${mode}[@]"
  "$bin/bench/grpc_load" "${!reader}" --target="${!target}" --rpc=count \
    --in_flight=1 --warmup=0s --duration=1s --max_calls=100 >/dev/null
done

declare -A runs
for ((round = 1; round <= rounds; ++round)); do
  if ((round % 2)); then order="tls plaintext"; else order="plaintext tls"; fi
  for rpc in count echo; do
    for mode in $order; do
      line=$(load "$mode" "$rpc")
      if [[ "$(kv errors "$line")" != 0 || -z "$(kv qps "$line")" ]]; then
        echo "bench-tls.sh: $mode $rpc failed: $line" >&2
        exit 1
      fi
      runs[$mode,$rpc]+="$(kv qps "$line") $(kv p50 "$line") $(kv p99 "$line") $(kv server_cpu "$line")"$'\n'
    done
  done
done

# median MODE RPC FIELD(1 qps, 2 p50, 3 p99, 4 server CPU µs per call)
median() {
  awk -v f="$3" 'NF { print $f }' <<<"${runs[$1,$2]}" | sort -g |
    awk '{ v[++n] = $1 } END {
      printf "%s", (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }'
}
# Per-round ratios of QPS, secure / plaintext, comma-separated.
round_ratios() {
  paste <(awk 'NF {print $1}' <<<"${runs[tls,$1]}") \
    <(awk 'NF {print $1}' <<<"${runs[plaintext,$1]}") |
    awk '{ printf "%s%.2f", (NR > 1 ? ", " : ""), $1 / $2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
ms() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }
qps() { printf "%.0f" "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }
# Machine time per call added by TLS and authorization, in µs: the
# difference of the inverse throughputs (the loop keeps the machine busy).
extra_us() {
  awk -v s="$1" -v p="$2" 'BEGIN {
    d = 1e6 / s - 1e6 / p; printf "%.1f%s", d, (d < 0 ? " (less than none: noise)" : "") }'
}

for key in tls,count plaintext,count tls,echo plaintext,echo; do
  declare "q_${key/,/_}=$(median "${key%,*}" "${key#*,}" 1)"
  declare "p50_${key/,/_}=$(median "${key%,*}" "${key#*,}" 2)"
  declare "p99_${key/,/_}=$(median "${key%,*}" "${key#*,}" 3)"
  declare "cpu_${key/,/_}=$(median "${key%,*}" "${key#*,}" 4)"
done
count_ratio=$(ratio "$q_tls_count" "$q_plaintext_count")
verdict=$(awk -v r="$count_ratio" 'BEGIN { print (r >= 0.85) ? "met" : "NOT met" }')

# The authorization step alone (no gRPC around it), when the tree has it.
authz=""
if [[ -x "$bin/bench/authz_bench" ]]; then
  authz=$("$bin/bench/authz_bench" --benchmark_filter=Process \
    --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
    2>/dev/null | awk '/_median/ { printf "%.2f", ($4 + 0) * ($5 == "ns" ? 0.001 : 1) }')
  [[ -n "$authz" ]] && authz=" The authorization step alone (\`CallAuthenticator::Process\`: principal from the certificate, policy evaluated; \`bench/authz_bench\`) takes $authz µs of CPU per call."
fi

cat <<EOF
<!-- tls -->
Cached \`CountCountries\` (the same three-field request every call, answered from the cache) and the echo RPC, $in_flight calls in flight, $(qps "$records") records; the secure suite and a plaintext baseline suite started side by side in the same run, $rounds rounds in alternating order, each run ${seconds} s on warm caches; medians of the rounds. The client runs on the same two cores, so its own TLS work is charged to the throughput too; the server's CPU time per call (from /proc) is the server's share alone.

| transport | cached count QPS | cached p50 / p99 (ms) | server CPU per cached count (µs) | echo QPS | echo p50 / p99 (ms) | server CPU per echo (µs) |
|---|---:|---:|---:|---:|---:|---:|
| mutual TLS + authorization policy, reader certificate | $(qps "$q_tls_count") | $(ms "$p50_tls_count") / $(ms "$p99_tls_count") | $cpu_tls_count | $(qps "$q_tls_echo") | $(ms "$p50_tls_echo") / $(ms "$p99_tls_echo") | $cpu_tls_echo |
| plaintext baseline (\`--insecure\`, loopback) | $(qps "$q_plaintext_count") | $(ms "$p50_plaintext_count") / $(ms "$p99_plaintext_count") | $cpu_plaintext_count | $(qps "$q_plaintext_echo") | $(ms "$p50_plaintext_echo") / $(ms "$p99_plaintext_echo") | $cpu_plaintext_echo |
| secure / plaintext | $count_ratio | | $(ratio "$cpu_tls_count" "$cpu_plaintext_count") | $(ratio "$q_tls_echo" "$q_plaintext_echo") | | $(ratio "$cpu_tls_echo" "$cpu_plaintext_echo") |

Target: cached CountCountries over mutual TLS with authorization at least 0.85× plaintext at $in_flight in flight. Ratio of the medians $count_ratio (rounds: $(round_ratios count); echo rounds: $(round_ratios echo)): **$verdict**. Machine time added per call by TLS and authorization: $(extra_us "$q_tls_count" "$q_plaintext_count") µs on the cached count, $(extra_us "$q_tls_echo" "$q_plaintext_echo") µs on echo.$authz
EOF

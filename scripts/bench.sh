#!/usr/bin/env bash
# Every benchmark of the suite in one run, each against a baseline measured
# in the same run, written as markdown tables:
#   - bulk import through gRPC into durable SQLite vs the store alone;
#   - the index vs the same questions as SQL in SQLite (and a scan), at 10k,
#     100k and 1M records;
#   - at 100k records over gRPC: cached and uncached CountCountries vs an
#     echo RPC at 1, 16 and 64 calls in flight, the other read RPCs of the
#     three services, write-to-visible latency, the cache's hit ratio and
#     latency with Redis up, and the cost when Redis is down;
#   - cached CountCountries and echo over mutual TLS with the authorization
#     policy vs a plaintext baseline suite (scripts/bench-tls.sh);
#   - at 1M records: first sync, memory, and the same gRPC figures.
#
#   scripts/bench.sh [--quick] [--out=FILE] [--update-docs]
#
# --quick: smaller sizes and shorter runs (a few minutes), to check the
#   script; the figures are not the ones to quote.
# --out: where the tables go (default build/bench-results.md); the raw
#   output of every step goes next to it (.log).
# --update-docs: also replace the tables between the markers in
#   docs/PERFORMANCE.md.
set -euo pipefail

quick=0
update_docs=0
out=build/bench-results.md
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    --update-docs) update_docs=1 ;;
    --out=*) out="${arg#--out=}" ;;
    *) echo "usage: scripts/bench.sh [--quick] [--out=FILE] [--update-docs]" >&2
       exit 2 ;;
  esac
done
[[ "$out" = /* ]] || out="$PWD/$out"

source "$(dirname "$0")/lib/bench-common.sh"
bench_init
mkdir -p "$(dirname "$out")"
log="${out%.md}.log"
: >"$log"

if ((quick)); then
  import_records=20000 grpc_records=10000 big_records=0 seconds=2
  visible_samples=100 visible_seconds=10 index_filter='/(10000|100000)/'
  tls_records=2000 tls_rounds=1
else
  import_records=200000 grpc_records=100000 big_records=1000000 seconds=5
  visible_samples=300 visible_seconds=30 index_filter='.'
  tls_records=20000 tls_rounds=5
fi

md=""
emit() { md+="$*"$'\n'; }
step() { echo "== $* ($(date -u +%H:%M:%S))" | tee -a "$log" >&2; }
# Runs a command, keeping its output in the log and printing it.
logged() { "$@" 2>>"$log" | tee -a "$log"; }
load() { logged "$bin/bench/grpc_load" "${as_reader[@]}" --duration="${seconds}s" "$@"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf (b > 0 ? "%.2f" : "-"), a / b }'; }
# "12345" -> "12,345"
thousands() { printf "%.0f" "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }
# The latency of a grpc_load line, µs -> ms with two decimals.
ms() { awk -v u="$(kv "$1" "$2")" 'BEGIN { printf "%.2f", u / 1000 }'; }

emit "Measured $(date -u +%Y-%m-%d) on $(machine_line)$( ((quick)) && echo ', quick mode (small sizes, short runs: not for quoting)'). Servers serve mutual TLS with the authorization policy; clients call as the reader (reads) or the editor (imports, writes); the one plaintext figure is labelled so."
emit

# --- Import --------------------------------------------------------------
step "import of $import_records records"
start_registry registry
start_cooperation import
import_out=$(logged "$bin/bench/import_bench" "${as_editor[@]}" --cooperation="$cooperation" \
  --records="$import_records" --baseline_db="$work/baseline.sqlite3")
import_grpc=$(sed -n 's/^import through gRPC.*: \([0-9]*\) records\/s.*/\1/p' <<<"$import_out")
import_store=$(sed -n 's/^same records straight.*: \([0-9]*\) records\/s.*/\1/p' <<<"$import_out")
bench_stop "${pids[-1]}"

emit "<!-- import -->"
emit "| bulk import of $(thousands "$import_records") records, batches of 10,000 | records/s |"
emit "|---|---:|"
emit "| through gRPC into durable SQLite (validated, idempotent) | $(thousands "$import_grpc") |"
emit "| the same records committed straight into the store | $(thousands "$import_store") |"
emit "| ratio gRPC / store | $(ratio "$import_grpc" "$import_store") |"
emit

# --- Index vs SQLite -----------------------------------------------------
step "index vs SQLite ($index_filter)"
"$bin/bench/index_bench" --benchmark_filter="$index_filter" \
  >"$work/index_bench.txt" 2>>"$log"
cat "$work/index_bench.txt" >>"$log"
emit "<!-- index -->"
emit "Medians of CPU time per question (µs), three-field filter (good practices in prevention with an international organisation)."
emit
emit "$(awk '
  function us(v, unit) {
    if (unit == "ns") return v / 1000
    if (unit == "ms") return v * 1000
    if (unit == "s") return v * 1000000
    return v
  }
  /_median/ {
    split($1, part, "/"); name = part[1]; n = part[2]
    t[name, n] = us($4, $5); sizes[n] = 1
  }
  /^BM_IndexMemory/ {
    for (i = 1; i <= NF; ++i) {
      if ($i ~ /^rss_bytes_per_record=/) { sub(/.*=/, "", $i); rss = $i }
      if ($i ~ /^estimated_bytes_per_record=/) { sub(/.*=/, "", $i); est = $i }
    }
  }
  function cell(v) { return v == "" ? "-" : sprintf(v < 100 ? "%.1f" : "%.0f", v) }
  function times(a, b) { return (a == "" || b == "" || a == 0) ? "-" : sprintf("%.0f×", b / a) }
  function growth(name, n) {
    return (t[name, 10000] == "" || t[name, n] == "") ? "-" : sprintf("%.1f", t[name, n] / t[name, 10000])
  }
  END {
    print "| question | records | index | SQLite | SQLite / index | index growth | SQLite growth | scan | scan / index |"
    print "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    split("CountCountries Breakdown CrossTabulate", questions, " ")
    split("10000 100000 1000000", ns, " ")
    for (q = 1; q <= 3; ++q) for (k = 1; k <= 3; ++k) {
      name = questions[q]; n = ns[k]
      if (!((n) in sizes)) continue
      ix = t["BM_" name, n]; sql = t["BM_Sqlite_" name, n]
      scan = (name == "CountCountries") ? t["BM_CountCountriesBruteForce", n] : ""
      printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", name, n, cell(ix), cell(sql),
        times(ix, sql), growth("BM_" name, n), growth("BM_Sqlite_" name, n), cell(scan), times(ix, scan)
    }
    if (rss != "") {
      printf "\nIndex memory at 1M records: %.0f bytes per record of RSS growth (%.0f estimated from its structures).\n", rss, est
    }
  }' "$work/index_bench.txt")"
emit "Growth: time at N over time at 10k. SQLite runs in memory with indexes on (kind, country, form), (area, record) and (partner kind, record), ANALYZEd; its plans are in the log."
emit

# --- gRPC at 100k --------------------------------------------------------
step "gRPC at $grpc_records records"
start_redis redis
start_cooperation cooperation
logged "$bin/bench/thb-synthetic" --records="$grpc_records" --seed=1 \
  --out="$work/synthetic.txtpb"
thbctl_out=$(logged "$bin/tools/thbctl/thbctl" "${as_editor[@]}" --cooperation="$cooperation" \
  --registry="$registry" import "$work/synthetic.txtpb")
thbctl_rate=$(sed -n 's/.*(\([0-9]*\) records\/s).*/\1/p' <<<"$thbctl_out")
start_aggregator aggregator "unix:$work/redis.sock"
small_sync=$sync_seconds
small_rss=$(rss_kib "$aggregator_pid")
echo "first sync of $grpc_records records: $small_sync s, RSS $small_rss KiB" | tee -a "$log"

emit "<!-- grpc -->"
emit "$(thousands "$grpc_records") records, imported with \`thbctl import\` from a \`thb-synthetic\` file ($(thousands "$thbctl_rate") records/s); closed loop, ${seconds} s per run after 1 s of warm-up; QPS and median / p99 latency (ms)."
emit
emit "| in flight | echo QPS | cached count QPS | cached / echo | uncached count QPS | uncached / echo | echo p50 / p99 | cached p50 / p99 | uncached p50 / p99 |"
emit "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
key=-100000
for in_flight in 1 16 64; do
  echo_line=$(load --target="$aggregator" --rpc=echo --in_flight="$in_flight")
  count_line=$(load --target="$aggregator" --rpc=count --in_flight="$in_flight")
  # Each run of new keys gets its own 100,000 dates (see grpc_load).
  key=$((key + 100000))
  uncached_line=$(load --target="$aggregator" --rpc=count_uncached \
    --in_flight="$in_flight" --first_key="$key" --max_calls=100000)
  e=$(kv qps "$echo_line") c=$(kv qps "$count_line") u=$(kv qps "$uncached_line")
  emit "| $in_flight | $(thousands "$e") | $(thousands "$c") | $(ratio "$c" "$e") | $(thousands "$u") | $(ratio "$u" "$e") | $(ms p50 "$echo_line") / $(ms p99 "$echo_line") | $(ms p50 "$count_line") / $(ms p99 "$count_line") | $(ms p50 "$uncached_line") / $(ms p99 "$uncached_line") |"
done
emit

emit "<!-- reads -->"
emit "Every read RPC at 16 in flight, $(thousands "$grpc_records") records (statistics answers cached after the first)."
emit
emit "| service | RPC | QPS | p50 (ms) | p99 (ms) | errors |"
emit "|---|---|---:|---:|---:|---:|"
read_rpc() {
  local line
  line=$(load --target="$2" --rpc="$3" --in_flight=16 --records="$grpc_records")
  emit "| $1 | $3 | $(thousands "$(kv qps "$line")") | $(ms p50 "$line") | $(ms p99 "$line") | $(kv errors "$line") |"
}
read_rpc aggregator "$aggregator" echo
for rpc in count breakdown crosstab share; do read_rpc aggregator "$aggregator" "$rpc"; done
for rpc in get_country list_countries; do read_rpc registry "$registry" "$rpc"; done
for rpc in get_record list_records; do read_rpc cooperation "$cooperation" "$rpc"; done
emit

step "write-to-visible"
visible_out=$(logged "$bin/bench/visible_bench" "${as_editor[@]}" --cooperation="$cooperation" \
  --aggregator="$aggregator" --samples="$visible_samples" \
  --duration="${visible_seconds}s")
emit "<!-- visible -->"
emit "Write-to-visible, $(thousands "$grpc_records") records: \`CreateRecord\`, then \`CountCountries\` with \`min_cooperation_revision\` = the write's revision; one write at a time, up to $visible_samples writes or ${visible_seconds} s."
emit
emit "| span | samples | median (ms) | p90 (ms) | p99 (ms) | max (ms) |"
emit "|---|---:|---:|---:|---:|---:|"
while read -r name rest; do
  [[ "$name" =~ ^(visible|write|wait)$ ]] || continue
  line=" $rest"
  emit "| $name | $(kv samples "$line") | $(kv p50 "$line") | $(kv p90 "$line") | $(kv p99 "$line") | $(kv max "$line") |"
done <<<"$visible_out"
emit "| errors | $(sed -n 's/^errors=//p' <<<"$visible_out") | | | | |"
emit

step "cache with Redis up and down"
# 1,000 keys drawn at random from a cold start: misses until each has
# been computed once, hits after.
key=$((key + 100000))
keys_line=$(load --target="$aggregator" --rpc=count_keys --keys=1000 \
  --in_flight=16 --warmup=0s --first_key="$key")
cache_share() { local s; s=$(sed -n "s/^  cache=$1 .*share=\([0-9.]*\).*/\1/p" <<<"$2"); echo "${s:-0}"; }
cache_p() { awk -v u="$(sed -n "s/^  cache=$1 .*$2=\([0-9.]*\)us.*/\1/p" <<<"$3")" 'BEGIN { printf (u == "" ? "-" : "%.2f"), u / 1000 }'; }
up_uncached=$uncached_line
bench_stop "$aggregator_pid"
bench_stop "$redis_pid"
start_aggregator aggregator-no-redis "unix:$work/nothing-listens-here.sock"
down_count=$(load --target="$aggregator" --rpc=count --in_flight=64)
down_uncached=$(load --target="$aggregator" --rpc=count_uncached \
  --in_flight=64 --max_calls=100000)
bench_stop "$aggregator_pid"
emit "<!-- cache -->"
emit "| cache, $(thousands "$grpc_records") records | QPS | hit share | hit p50 / p99 (ms) | miss p50 / p99 (ms) | bypass p50 / p99 (ms) |"
emit "|---|---:|---:|---:|---:|---:|"
emit "| Redis up, 1,000 keys drawn at random from cold, 16 in flight | $(thousands "$(kv qps "$keys_line")") | $(cache_share HIT "$keys_line") | $(cache_p HIT p50 "$keys_line") / $(cache_p HIT p99 "$keys_line") | $(cache_p MISS p50 "$keys_line") / $(cache_p MISS p99 "$keys_line") | - |"
emit "| Redis up, a new key every call, 64 in flight | $(thousands "$(kv qps "$up_uncached")") | $(cache_share HIT "$up_uncached") | - | $(cache_p MISS p50 "$up_uncached") / $(cache_p MISS p99 "$up_uncached") | - |"
emit "| Redis down, a new key every call, 64 in flight | $(thousands "$(kv qps "$down_uncached")") | $(cache_share HIT "$down_uncached") | - | - | $(cache_p BYPASS p50 "$down_uncached") / $(cache_p BYPASS p99 "$down_uncached") |"
emit "| Redis down, the same request every call, 64 in flight | $(thousands "$(kv qps "$down_count")") | $(cache_share HIT "$down_count") | $(cache_p HIT p50 "$down_count") / $(cache_p HIT p99 "$down_count") | - | $(cache_p BYPASS p50 "$down_count") / $(cache_p BYPASS p99 "$down_count") |"
emit
emit "Uncached QPS with Redis down / with Redis up: $(ratio "$(kv qps "$down_uncached")" "$(kv qps "$up_uncached")")."
emit

# --- Mutual TLS vs plaintext ---------------------------------------------
# Every other figure here is over mutual TLS with the authorization policy;
# this one sets it against a plaintext baseline suite, started apart.
step "mutual TLS + authorization vs a plaintext baseline"
emit "$(THB_BUILD_DIR="$bin" scripts/bench-tls.sh --records="$tls_records" \
  --seconds="$seconds" --rounds="$tls_rounds" 2>>"$log")"
emit

# --- 1M records ----------------------------------------------------------
emit "<!-- sync -->"
emit "| records | first sync (s) | aggregator RSS (MiB) | RSS / record (bytes, whole process) |"
emit "|---:|---:|---:|---:|"
emit "| $(thousands "$grpc_records") | $small_sync | $((small_rss / 1024)) | $((small_rss * 1024 / grpc_records)) |"
if ((big_records)); then
  step "gRPC at $big_records records"
  start_redis redis-big
  start_cooperation cooperation-big
  big_import=$(logged "$bin/bench/import_bench" "${as_editor[@]}" --cooperation="$cooperation" \
    --records="$big_records")
  start_aggregator aggregator-big "unix:$work/redis-big.sock"
  big_sync=$sync_seconds
  big_rss=$(rss_kib "$aggregator_pid")
  echo "first sync of $big_records records: $big_sync s, RSS $big_rss KiB" | tee -a "$log"
  emit "| $(thousands "$big_records") | $big_sync | $((big_rss / 1024)) | $((big_rss * 1024 / big_records)) |"
  emit
  emit "Growth between the two: $(( (big_rss - small_rss) * 1024 / (big_records - grpc_records) )) bytes of RSS per added record. Importing the $(thousands "$big_records") records through gRPC: $(thousands "$(sed -n 's/^import through gRPC.*: \([0-9]*\) records\/s.*/\1/p' <<<"$big_import")") records/s."
  emit
  emit "| $(thousands "$big_records") records, 64 in flight | QPS | p50 (ms) | p99 (ms) |"
  emit "|---|---:|---:|---:|"
  big_echo=$(load --target="$aggregator" --rpc=echo --in_flight=64)
  big_count=$(load --target="$aggregator" --rpc=count --in_flight=64)
  big_uncached=$(load --target="$aggregator" --rpc=count_uncached \
    --in_flight=64 --max_calls=100000)
  for pair in "echo:$big_echo" "cached count:$big_count" "uncached count:$big_uncached"; do
    line=${pair#*:}
    emit "| ${pair%%:*} | $(thousands "$(kv qps "$line")") | $(ms p50 "$line") | $(ms p99 "$line") |"
  done
  emit
  emit "Cached / echo at 1M: $(ratio "$(kv qps "$big_count")" "$(kv qps "$big_echo")"); uncached / echo: $(ratio "$(kv qps "$big_uncached")" "$(kv qps "$big_echo")")."
fi
emit

printf "%s" "$md" >"$out"
echo "tables: $out; raw output: $log" >&2
cat "$out"

if ((update_docs)); then
  doc=docs/PERFORMANCE.md
  awk -v tables="$out" '
    /<!-- bench:begin -->/ { print; while ((getline line < tables) > 0) print line; skip = 1; next }
    /<!-- bench:end -->/ { skip = 0 }
    !skip { print }' "$doc" >"$work/PERFORMANCE.md"
  cp "$work/PERFORMANCE.md" "$doc"
  echo "updated the tables of $doc" >&2
fi

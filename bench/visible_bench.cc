// Write-to-visible latency: creates a record through the cooperation
// service, then asks the aggregator a question with
// min_cooperation_revision set to the write's revision, and times from the
// start of the write to the answer. One write at a time, bounded in count
// and in time; prints the median, p90 and p99 of the whole, of the write
// alone and of the wait for the aggregator.
//
//   visible_bench --cooperation=127.0.0.1:50052 --aggregator=127.0.0.1:50053
//       --samples=300 --duration=30s --tls_ca=ca.pem --tls_cert=editor.pem
//       --tls_key=editor-key.pem

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/bench_security.h"
#include "bench/synthetic.h"
#include "common/channel.h"
#include "thb/cooperation/v1/cooperation_service.grpc.pb.h"
#include "thb/stats/v1/stats_service.grpc.pb.h"

THB_CLIENT_SECURITY_FLAGS();
ABSL_FLAG(std::string, cooperation, "127.0.0.1:50052",
          "The cooperation service.");
ABSL_FLAG(std::string, aggregator, "127.0.0.1:50053", "The aggregator.");
ABSL_FLAG(int, samples, 300, "Writes to time.");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(30),
          "Stop after this long even if samples remain.");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(5), "Deadline of each call.");
ABSL_FLAG(uint64_t, seed, 7, "Seed of the synthetic records written.");

namespace thb::bench {
namespace {

namespace coop = ::thb::cooperation::v1;
namespace stats = ::thb::stats::v1;

struct Samples {
  std::vector<absl::Duration> visible;
  std::vector<absl::Duration> write;
  std::vector<absl::Duration> wait;
};

void PrintLine(const char* name, std::vector<absl::Duration> latencies) {
  if (latencies.empty()) return;
  std::sort(latencies.begin(), latencies.end());
  auto percentile = [&](double p) {
    const size_t index = std::min(
        latencies.size() - 1,
        static_cast<size_t>(p / 100.0 * static_cast<double>(latencies.size())));
    return absl::ToDoubleMilliseconds(latencies[index]);
  };
  std::printf(
      "%-8s samples=%-5zu p50=%.2fms p90=%.2fms p99=%.2fms max=%.2fms\n", name,
      latencies.size(), percentile(50), percentile(90), percentile(99),
      absl::ToDoubleMilliseconds(latencies.back()));
}

int Run() {
  const ChannelOptions options = BenchChannelOptions("visible_bench");
  auto cooperation = coop::CooperationRecordService::NewStub(
      MakeChannel(absl::GetFlag(FLAGS_cooperation), options));
  auto aggregator = stats::StatisticsService::NewStub(
      MakeChannel(absl::GetFlag(FLAGS_aggregator), options));
  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);
  const absl::Time end = absl::Now() + absl::GetFlag(FLAGS_duration);
  // Ids unique to this run, so that the bench can run again on the same
  // store.
  const std::string run = absl::StrCat(absl::ToUnixMillis(absl::Now()));
  SyntheticRecords synthetic(absl::GetFlag(FLAGS_seed));
  Samples samples;
  int errors = 0;
  std::string first_error;
  for (int i = 0; i < absl::GetFlag(FLAGS_samples) && absl::Now() < end; ++i) {
    coop::CreateRecordRequest create;
    *create.mutable_record() = synthetic.Make(i);
    create.mutable_record()->set_id(absl::StrCat("visible-", run, "-", i));
    coop::CreateRecordResponse created;
    const absl::Time started = absl::Now();
    grpc::ClientContext write_context;
    write_context.set_deadline(absl::ToChronoTime(started + timeout));
    grpc::Status status =
        cooperation->CreateRecord(&write_context, create, &created);
    const absl::Time written = absl::Now();
    stats::CountCountriesResponse answer;
    if (status.ok()) {
      stats::CountCountriesRequest query;
      query.mutable_query()->mutable_filter()->add_reporting_countries(
          created.record().reporting_country());
      query.set_min_cooperation_revision(created.record().revision());
      grpc::ClientContext read_context;
      read_context.set_deadline(absl::ToChronoTime(written + timeout));
      status = aggregator->CountCountries(&read_context, query, &answer);
    }
    const absl::Time answered = absl::Now();
    if (status.ok() &&
        answer.as_of().cooperation_revision() < created.record().revision()) {
      status =
          grpc::Status(grpc::StatusCode::INTERNAL,
                       absl::StrCat("answer at revision ",
                                    answer.as_of().cooperation_revision(),
                                    " does not include the write's revision ",
                                    created.record().revision()));
    }
    if (!status.ok()) {
      if (first_error.empty()) first_error = status.error_message();
      ++errors;
      continue;
    }
    samples.visible.push_back(answered - started);
    samples.write.push_back(written - started);
    samples.wait.push_back(answered - written);
  }
  PrintLine("visible", samples.visible);
  PrintLine("write", samples.write);
  PrintLine("wait", samples.wait);
  std::printf("errors=%d\n", errors);
  if (!first_error.empty())
    std::printf("  first error: %s\n", first_error.c_str());
  return samples.visible.empty() ? 1 : 0;
}

}  // namespace
}  // namespace thb::bench

int main(int argc, char** argv) {
  thb::bench::ParseBenchFlags(
      argc, argv,
      "Write-to-visible latency (writes, so an editor's "
      "identity).");
  return thb::bench::Run();
}

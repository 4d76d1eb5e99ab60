// Bulk import through gRPC into durable SQLite, against the store alone in
// the same run: records/s of each and their ratio.
//
//   import_bench --cooperation=127.0.0.1:50052 --records=200000
//       --batch=10000 --baseline_db=fresh.sqlite3 --tls_ca=ca.pem
//       --tls_cert=editor.pem --tls_key=editor-key.pem

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "bench/bench_security.h"
#include "bench/synthetic.h"
#include "common/channel.h"
#include "google/protobuf/util/time_util.h"
#include "services/cooperation/sqlite_cooperation_store.h"
#include "thb/cooperation/v1/cooperation_service.grpc.pb.h"

THB_CLIENT_SECURITY_FLAGS();
ABSL_FLAG(std::string, cooperation, "127.0.0.1:50052",
          "Address of the thb-cooperation to import into.");
ABSL_FLAG(int64_t, records, 200000, "Records to import.");
ABSL_FLAG(int, batch, 10000, "Records per BatchCreateRecords call.");
ABSL_FLAG(int, in_flight, 2, "Batches sent concurrently.");
ABSL_FLAG(uint64_t, seed, 1, "Seed of the synthetic records.");
ABSL_FLAG(std::string, baseline_db, "",
          "A fresh SQLite file for the store-only baseline; empty skips it.");

namespace thb::bench {
namespace {

namespace v1 = ::thb::cooperation::v1;

std::vector<v1::BatchCreateRecordsRequest> MakeBatches(int64_t records,
                                                       int batch_size,
                                                       uint64_t seed,
                                                       const std::string& tag) {
  SyntheticRecords generator(seed);
  std::vector<v1::BatchCreateRecordsRequest> batches;
  for (int64_t i = 0; i < records; i += batch_size) {
    v1::BatchCreateRecordsRequest request;
    for (int64_t j = i; j < std::min<int64_t>(records, i + batch_size); ++j) {
      v1::CooperationRecord record = generator.Make(j);
      record.set_id(absl::StrFormat("%s-%d", tag, j));
      *request.add_records() = std::move(record);
    }
    batches.push_back(std::move(request));
  }
  return batches;
}

// The floor: the same records, stamped as the service stamps them, committed
// straight into the same store, one transaction per batch.
double BaselineRecordsPerSecond(
    const std::vector<v1::BatchCreateRecordsRequest>& batches,
    const std::string& path) {
  auto store = cooperation::SqliteCooperationStore::Open(path);
  if (!store.ok()) {
    std::fprintf(stderr, "baseline store: %s\n",
                 std::string(store.status().message()).c_str());
    std::exit(1);
  }
  int64_t count = 0;
  const absl::Time start = absl::Now();
  int64_t revision = 0;
  for (const auto& request : batches) {
    cooperation::CommitBatch batch;
    batch.revision = ++revision;
    const int64_t micros = absl::ToUnixMicros(absl::Now());
    for (v1::CooperationRecord record : request.records()) {
      record.set_revision(revision);
      *record.mutable_create_time() =
          google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(micros);
      batch.changes.push_back(cooperation::ChangeRow{
          revision, cooperation::ChangeKind::kCreated, record.id(), micros,
          record.SerializeAsString()});
    }
    if (auto status = (*store)->Commit(batch); !status.ok()) {
      std::fprintf(stderr, "baseline commit: %s\n",
                   std::string(status.message()).c_str());
      std::exit(1);
    }
    count += request.records_size();
  }
  return static_cast<double>(count) /
         absl::ToDoubleSeconds(absl::Now() - start);
}

double GrpcRecordsPerSecond(
    const std::vector<v1::BatchCreateRecordsRequest>& batches,
    const std::string& address, int in_flight) {
  auto stub = v1::CooperationRecordService::NewStub(
      MakeChannel(address, BenchChannelOptions("import_bench")));
  std::atomic<size_t> next{0};
  std::atomic<int64_t> imported{0};
  std::atomic<bool> failed{false};
  const absl::Time start = absl::Now();
  std::vector<std::thread> senders;
  for (int t = 0; t < in_flight; ++t) {
    senders.emplace_back([&] {
      for (size_t i = next++; i < batches.size() && !failed; i = next++) {
        v1::BatchCreateRecordsResponse response;
        grpc::ClientContext context;
        context.set_deadline(
            absl::ToChronoTime(absl::Now() + absl::Minutes(2)));
        const grpc::Status status =
            stub->BatchCreateRecords(&context, batches[i], &response);
        if (!status.ok()) {
          std::fprintf(stderr, "BatchCreateRecords: %s\n",
                       status.error_message().c_str());
          failed = true;
          return;
        }
        imported += response.records_size();
      }
    });
  }
  for (auto& sender : senders) sender.join();
  if (failed) std::exit(1);
  return static_cast<double>(imported) /
         absl::ToDoubleSeconds(absl::Now() - start);
}

}  // namespace
}  // namespace thb::bench

int main(int argc, char** argv) {
  thb::bench::ParseBenchFlags(
      argc, argv,
      "Bulk import through gRPC (an editor's identity), "
      "against the store alone.");
  const int64_t records = absl::GetFlag(FLAGS_records);
  const int batch = absl::GetFlag(FLAGS_batch);
  const uint64_t seed = absl::GetFlag(FLAGS_seed);
  // Distinct ids per run, so the same server can be measured again.
  const std::string tag =
      absl::StrFormat("imp%d", absl::ToUnixSeconds(absl::Now()));
  const auto batches = thb::bench::MakeBatches(records, batch, seed, tag);

  const double grpc = thb::bench::GrpcRecordsPerSecond(
      batches, absl::GetFlag(FLAGS_cooperation),
      absl::GetFlag(FLAGS_in_flight));
  std::printf(
      "import through gRPC into durable SQLite: %.0f records/s "
      "(%lld records, batches of %d)\n",
      grpc, static_cast<long long>(records), batch);
  if (const std::string path = absl::GetFlag(FLAGS_baseline_db);
      !path.empty()) {
    const double baseline = thb::bench::BaselineRecordsPerSecond(batches, path);
    std::printf(
        "same records straight into the store (no gRPC, no "
        "validation): %.0f records/s\n",
        baseline);
    std::printf("ratio gRPC / store: %.2f\n", grpc / baseline);
  }
  return 0;
}

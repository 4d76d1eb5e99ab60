// A closed-loop gRPC load generator: keeps N calls in flight for a time or
// a count, then prints QPS, latency percentiles and errors.
//
//   grpc_load --target=127.0.0.1:50053 --rpc=count --in_flight=64
//       --duration=5s --max_calls=2000000
//
// --rpc: echo (/thb.bench.v1.Echo/Echo, the transport's ceiling on the same
// server), count (CountCountries with a three-field filter: the same
// request every time, so cached after the first), count_uncached (the same
// filter judged on a different date each call, so never cached), breakdown,
// share.

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "common/channel.h"
#include "common/dates.h"
#include "common/echo_service.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "thb/stats/v1/stats_service.grpc.pb.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50053",
          "Address, or comma-separated addresses (round_robin).");
ABSL_FLAG(std::string, rpc, "count",
          "echo, count, count_uncached, breakdown, share.");
ABSL_FLAG(int, in_flight, 64, "Calls kept in flight.");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(5), "How long to run.");
ABSL_FLAG(int64_t, max_calls, 2000000, "Stop after this many calls.");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(1),
          "Calls in this first period are not counted.");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(5), "Deadline of each call.");

namespace thb::bench {
namespace {

namespace stats = ::thb::stats::v1;

stats::CountryQuery ThreeFieldQuery() {
  stats::CountryQuery query;
  auto* filter = query.mutable_filter();
  filter->add_kinds(cooperation::v1::RECORD_KIND_GOOD_PRACTICE);
  filter->add_thematic_areas(cooperation::v1::THEMATIC_AREA_PREVENTION);
  filter->add_partner_kinds(
      cooperation::v1::PARTNER_KIND_INTERNATIONAL_ORGANISATION);
  return query;
}

// Runs the load: `start(done)` issues one call and calls `done(ok)` when it
// completes; every completion starts the next call until time or count run
// out.
class Load {
 public:
  using Start =
      std::function<void(int64_t sequence, std::function<void(bool)> done)>;

  Load(int in_flight, absl::Duration duration, int64_t max_calls,
       absl::Duration warmup, Start start)
      : in_flight_(in_flight),
        max_calls_(max_calls),
        start_(std::move(start)),
        begin_(absl::Now()),
        measure_from_(begin_ + warmup),
        end_(begin_ + warmup + duration) {}

  void Run() {
    for (int i = 0; i < in_flight_; ++i) Issue();
    done_.WaitForNotification();
  }

  void Print(const std::string& rpc) {
    absl::MutexLock lock(&mu_);
    std::sort(latencies_.begin(), latencies_.end());
    auto percentile = [&](double p) {
      if (latencies_.empty()) return 0.0;
      const size_t index =
          std::min(latencies_.size() - 1,
                   static_cast<size_t>(p / 100.0 *
                                       static_cast<double>(latencies_.size())));
      return absl::ToDoubleMicroseconds(latencies_[index]);
    };
    const double seconds = absl::ToDoubleSeconds(end_ - measure_from_);
    std::printf(
        "%-15s in_flight=%-3d calls=%-8zu errors=%-5lld qps=%-9.0f "
        "p50=%.0fus p90=%.0fus p99=%.0fus p99.9=%.0fus\n",
        rpc.c_str(), in_flight_, latencies_.size(),
        static_cast<long long>(errors_), latencies_.size() / seconds,
        percentile(50), percentile(90), percentile(99), percentile(99.9));
    if (!first_error_.empty()) {
      std::printf("  first error: %s\n", first_error_.c_str());
    }
  }

  void Error(const std::string& message) {
    absl::MutexLock lock(&mu_);
    if (first_error_.empty()) first_error_ = message;
  }

 private:
  void Issue() {
    const int64_t sequence = issued_++;
    if (sequence >= max_calls_ || absl::Now() >= end_) {
      Finished();
      return;
    }
    const absl::Time started = absl::Now();
    start_(sequence, [this, started](bool ok) {
      const absl::Time now = absl::Now();
      if (started >= measure_from_ && now <= end_) {
        absl::MutexLock lock(&mu_);
        latencies_.push_back(now - started);
        if (!ok) ++errors_;
      }
      Issue();
    });
  }

  void Finished() {
    if (++finished_ == in_flight_) done_.Notify();
  }

  const int in_flight_;
  const int64_t max_calls_;
  const Start start_;
  const absl::Time begin_;
  const absl::Time measure_from_;
  const absl::Time end_;
  std::atomic<int64_t> issued_{0};
  std::atomic<int> finished_{0};
  absl::Notification done_;
  absl::Mutex mu_;
  std::vector<absl::Duration> latencies_ ABSL_GUARDED_BY(mu_);
  int64_t errors_ ABSL_GUARDED_BY(mu_) = 0;
  std::string first_error_ ABSL_GUARDED_BY(mu_);
};

// `method` names the RPC: &Stub::async::CountCountries and so on.
#define THB_ASYNC(method)                                                \
  [](stats::StatisticsService::Stub* stub, grpc::ClientContext* context, \
     const auto* request, auto* response,                                \
     std::function<void(grpc::Status)> done) {                           \
    stub->async()->method(context, request, response, std::move(done));  \
  }

template <typename Request, typename Response, typename Invoke>
Load::Start Unary(std::shared_ptr<stats::StatisticsService::Stub> stub,
                  std::function<Request(int64_t)> make, Invoke invoke,
                  absl::Duration timeout, Load** load) {
  return [stub, make, invoke, timeout, load](int64_t sequence,
                                             std::function<void(bool)> done) {
    struct Call {
      grpc::ClientContext context;
      Request request;
      Response response;
    };
    auto call = std::make_shared<Call>();
    call->request = make(sequence);
    call->context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    invoke(stub.get(), &call->context, &call->request, &call->response,
           [call, done, load](grpc::Status status) {
             if (!status.ok()) (*load)->Error(status.error_message());
             done(status.ok());
           });
  };
}

}  // namespace
}  // namespace thb::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  using namespace thb::bench;  // NOLINT: a small main
  namespace stats = ::thb::stats::v1;
  const std::string rpc = absl::GetFlag(FLAGS_rpc);
  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);
  auto channel = thb::MakeChannel(absl::GetFlag(FLAGS_target));
  auto stub = std::shared_ptr<stats::StatisticsService::Stub>(
      stats::StatisticsService::NewStub(channel));
  Load* load = nullptr;
  Load::Start start;

  const auto count = [](int64_t) {
    stats::CountCountriesRequest request;
    *request.mutable_query() = ThreeFieldQuery();
    request.set_as_of_date("2025-07-16");
    return request;
  };
  if (rpc == "echo") {
    auto generic = std::make_shared<grpc::GenericStub>(channel);
    const std::string payload = count(0).SerializeAsString();
    start = [generic, payload, timeout, &load](int64_t,
                                               std::function<void(bool)> done) {
      struct Call {
        grpc::ClientContext context;
        grpc::ByteBuffer request;
        grpc::ByteBuffer response;
      };
      auto call = std::make_shared<Call>();
      grpc::Slice slice(payload);
      call->request = grpc::ByteBuffer(&slice, 1);
      call->context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
      generic->UnaryCall(&call->context, thb::kEchoMethod, grpc::StubOptions(),
                         &call->request, &call->response,
                         [call, done, &load](grpc::Status status) {
                           if (!status.ok())
                             load->Error(status.error_message());
                           done(status.ok());
                         });
    };
  } else if (rpc == "count") {
    start = Unary<stats::CountCountriesRequest, stats::CountCountriesResponse>(
        stub, count, THB_ASYNC(CountCountries), timeout, &load);
  } else if (rpc == "count_uncached") {
    start = Unary<stats::CountCountriesRequest, stats::CountCountriesResponse>(
        stub,
        [count](int64_t sequence) {
          stats::CountCountriesRequest request = count(sequence);
          // A different day each call: a different cache key every time.
          request.set_as_of_date(
              thb::FormatDate(absl::CivilDay(1950, 1, 1) + sequence % 30000));
          return request;
        },
        THB_ASYNC(CountCountries), timeout, &load);
  } else if (rpc == "breakdown") {
    start = Unary<stats::BreakdownRequest, stats::BreakdownResponse>(
        stub,
        [](int64_t) {
          stats::BreakdownRequest request;
          *request.mutable_query() = ThreeFieldQuery();
          request.set_dimension(stats::DIMENSION_PARTNER);
          request.set_as_of_date("2025-07-16");
          return request;
        },
        THB_ASYNC(Breakdown), timeout, &load);
  } else if (rpc == "share") {
    start = Unary<stats::ShareRequest, stats::ShareResponse>(
        stub,
        [](int64_t) {
          stats::ShareRequest request;
          *request.mutable_part() = ThreeFieldQuery();
          request.mutable_whole()->mutable_filter();
          request.set_as_of_date("2025-07-16");
          return request;
        },
        THB_ASYNC(Share), timeout, &load);
  } else {
    std::fprintf(stderr,
                 "--rpc: \"%s\" is not one of echo, count, "
                 "count_uncached, breakdown, share\n",
                 rpc.c_str());
    return 2;
  }
  Load runner(absl::GetFlag(FLAGS_in_flight), absl::GetFlag(FLAGS_duration),
              absl::GetFlag(FLAGS_max_calls), absl::GetFlag(FLAGS_warmup),
              std::move(start));
  load = &runner;
  runner.Run();
  runner.Print(rpc);
  return 0;
}

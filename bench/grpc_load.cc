// A closed-loop gRPC load generator: keeps N calls in flight for a time or
// a count, then prints QPS, latency percentiles and errors; for statistics
// RPCs also where each answer came from (cache HIT, MISS or BYPASS), with
// the latency of each.
//
//   grpc_load --target=127.0.0.1:50053 --rpc=count --in_flight=64
//       --duration=5s --max_calls=2000000 --tls_ca=ca.pem --tls_cert=reader.pem
//       --tls_key=reader-key.pem
//
// --rpc, on the aggregator: echo (/thb.bench.v1.Echo/Echo, the transport's
// ceiling on the same server), count (CountCountries with a three-field
// filter: the same request every time, so cached after the first),
// count_uncached (the same filter judged on a different date each call, so
// never cached, as the cache=... lines show), count_keys (one of --keys dates
// drawn at random each call: misses until each key has been computed once, then
// hits), breakdown, crosstab, share. On the registry: get_country,
// list_countries. On the cooperation service: get_record (ids "syn-0" to
// "syn-<records - 1>"), list_records.

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "bench/bench_security.h"
#include "bench/synthetic.h"
#include "common/channel.h"
#include "common/dates.h"
#include "common/echo_service.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "thb/cooperation/v1/cooperation_service.grpc.pb.h"
#include "thb/registry/v1/registry_service.grpc.pb.h"
#include "thb/stats/v1/stats_service.grpc.pb.h"

THB_CLIENT_SECURITY_FLAGS();
ABSL_FLAG(std::string, target, "127.0.0.1:50053",
          "Address, or comma-separated addresses (round_robin).");
ABSL_FLAG(std::string, rpc, "count",
          "echo, count, count_uncached, count_keys, breakdown, crosstab, "
          "share, get_country, list_countries, get_record, list_records.");
ABSL_FLAG(int, in_flight, 64, "Calls kept in flight.");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(5), "How long to run.");
ABSL_FLAG(int64_t, max_calls, 2000000, "Stop after this many calls.");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(1),
          "Calls in this first period are not counted.");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(5), "Deadline of each call.");
ABSL_FLAG(int, keys, 1000, "count_keys: distinct requests drawn from.");
ABSL_FLAG(int64_t, first_key, 0,
          "count_uncached, count_keys: the first of the dates asked about.");
ABSL_FLAG(int64_t, records, 100000,
          "get_record: ids are drawn from syn-0 to syn-<records - 1>.");

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

// Days in the dates count_uncached and count_keys ask about.
constexpr int64_t kDays = 400000;

// A different sequence number gives a different, well-spread number.
uint64_t Mix(int64_t sequence) {
  return std::mt19937_64(static_cast<uint64_t>(sequence))();
}

// Runs the load: `start(sequence, done)` issues one call and calls
// `done(ok, cache)` when it completes, `cache` being the answer's
// stats::CacheStatus (0 for answers that have none); every completion
// starts the next call until time or count run out.
class Load {
 public:
  using Done = std::function<void(bool ok, int cache)>;
  using Start = std::function<void(int64_t sequence, Done done)>;

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
    std::vector<absl::Duration> all;
    for (auto& latencies : latencies_) {
      std::sort(latencies.begin(), latencies.end());
      all.insert(all.end(), latencies.begin(), latencies.end());
    }
    std::sort(all.begin(), all.end());
    const double seconds =
        absl::ToDoubleSeconds(std::min(end_, last_completion_) - measure_from_);
    std::printf(
        "%-15s in_flight=%-3d calls=%-8zu errors=%-5lld qps=%-9.0f "
        "p50=%.0fus p90=%.0fus p99=%.0fus p99.9=%.0fus\n",
        rpc.c_str(), in_flight_, all.size(), static_cast<long long>(errors_),
        seconds > 0 ? static_cast<double>(all.size()) / seconds : 0.0,
        Percentile(all, 50), Percentile(all, 90), Percentile(all, 99),
        Percentile(all, 99.9));
    const std::array<const char*, 4> names = {"NONE", "HIT", "MISS", "BYPASS"};
    for (size_t status = 1; status < latencies_.size(); ++status) {
      const auto& latencies = latencies_[status];
      if (latencies.empty()) continue;
      std::printf("  cache=%-6s calls=%-8zu share=%.4f p50=%.0fus p99=%.0fus\n",
                  names[status], latencies.size(),
                  static_cast<double>(latencies.size()) /
                      static_cast<double>(all.size()),
                  Percentile(latencies, 50), Percentile(latencies, 99));
    }
    if (!first_error_.empty()) {
      std::printf("  first error: %s\n", first_error_.c_str());
    }
  }

  void Error(const std::string& message) {
    absl::MutexLock lock(&mu_);
    if (first_error_.empty()) first_error_ = message;
  }

 private:
  static double Percentile(const std::vector<absl::Duration>& sorted,
                           double p) {
    if (sorted.empty()) return 0.0;
    const size_t index = std::min(
        sorted.size() - 1,
        static_cast<size_t>(p / 100.0 * static_cast<double>(sorted.size())));
    return absl::ToDoubleMicroseconds(sorted[index]);
  }

  void Issue() {
    const int64_t sequence = issued_++;
    if (sequence >= max_calls_ || absl::Now() >= end_) {
      Finished();
      return;
    }
    const absl::Time started = absl::Now();
    start_(sequence, [this, started](bool ok, int cache) {
      const absl::Time now = absl::Now();
      if (started >= measure_from_ && now <= end_) {
        absl::MutexLock lock(&mu_);
        const size_t status =
            cache > 0 && cache < static_cast<int>(latencies_.size())
                ? static_cast<size_t>(cache)
                : 0;
        latencies_[status].push_back(now - started);
        last_completion_ = std::max(last_completion_, now);
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
  // By stats::CacheStatus; [0] for answers without one.
  std::array<std::vector<absl::Duration>, 4> latencies_ ABSL_GUARDED_BY(mu_);
  absl::Time last_completion_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int64_t errors_ ABSL_GUARDED_BY(mu_) = 0;
  std::string first_error_ ABSL_GUARDED_BY(mu_);
};

template <typename Response, typename = void>
struct HasCache : std::false_type {};
template <typename Response>
struct HasCache<Response,
                std::void_t<decltype(std::declval<const Response&>().cache())>>
    : std::true_type {};

// `method` names the RPC: &Stub::async::CountCountries and so on.
#define THB_ASYNC(method)                                               \
  [](auto* stub, grpc::ClientContext* context, const auto* request,     \
     auto* response, std::function<void(grpc::Status)> done) {          \
    stub->async()->method(context, request, response, std::move(done)); \
  }

template <typename Request, typename Response, typename Stub, typename Invoke>
Load::Start Unary(std::shared_ptr<Stub> stub,
                  std::function<Request(int64_t)> make, Invoke invoke,
                  absl::Duration timeout, Load** load) {
  return
      [stub, make, invoke, timeout, load](int64_t sequence, Load::Done done) {
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
                 int cache = 0;
                 if constexpr (HasCache<Response>::value) {
                   cache = static_cast<int>(call->response.cache());
                 }
                 done(status.ok(), cache);
               });
      };
}

// A statistics request on ThreeFieldQuery(), judged on the study's date.
template <typename Request>
Request OnThreeFields() {
  Request request;
  *request.mutable_query() = ThreeFieldQuery();
  request.set_as_of_date("2025-07-16");
  return request;
}

stats::CountCountriesRequest CountRequest() {
  return OnThreeFields<stats::CountCountriesRequest>();
}

stats::BreakdownRequest PartnerBreakdown() {
  auto request = OnThreeFields<stats::BreakdownRequest>();
  request.set_dimension(stats::DIMENSION_PARTNER);
  return request;
}

stats::CrossTabulateRequest AreaByFormCountries() {
  auto request = OnThreeFields<stats::CrossTabulateRequest>();
  request.set_row_dimension(stats::DIMENSION_THEMATIC_AREA);
  request.set_column_dimension(stats::DIMENSION_FORM);
  request.set_measure(stats::MEASURE_COUNTRIES);
  return request;
}

Load::Start EchoStart(std::shared_ptr<grpc::Channel> channel,
                      absl::Duration timeout, Load** load) {
  auto generic = std::make_shared<grpc::GenericStub>(channel);
  const std::string payload = CountRequest().SerializeAsString();
  return [generic, payload, timeout, load](int64_t, Load::Done done) {
    struct Call {
      grpc::ClientContext context;
      grpc::ByteBuffer request;
      grpc::ByteBuffer response;
    };
    auto call = std::make_shared<Call>();
    grpc::Slice slice(payload);
    call->request = grpc::ByteBuffer(&slice, 1);
    call->context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    generic->UnaryCall(&call->context, kEchoMethod, grpc::StubOptions(),
                       &call->request, &call->response,
                       [call, done, load](grpc::Status status) {
                         if (!status.ok())
                           (*load)->Error(status.error_message());
                         done(status.ok(), 0);
                       });
  };
}

// The statistics RPCs, on the aggregator.
std::map<std::string, Load::Start> StatsStarts(
    std::shared_ptr<grpc::Channel> channel, absl::Duration timeout,
    Load** load) {
  auto stub = std::shared_ptr<stats::StatisticsService::Stub>(
      stats::StatisticsService::NewStub(channel));
  const int keys = std::max(1, absl::GetFlag(FLAGS_keys));
  std::map<std::string, Load::Start> starts;
  const auto count = [](int64_t) { return CountRequest(); };
  starts["count"] =
      Unary<stats::CountCountriesRequest, stats::CountCountriesResponse>(
          stub, count, THB_ASYNC(CountCountries), timeout, load);
  // A date per key (day `first_key + key` after 1900-01-01, wrapping before
  // 2999, the last year the service accepts): the answers' cost does not
  // depend on it, the cache key does. Runs that must not meet each other's keys
  // pass different
  // --first_key.
  const int64_t first_key = absl::GetFlag(FLAGS_first_key);
  const auto dated = [first_key](int64_t key) {
    stats::CountCountriesRequest request = CountRequest();
    request.set_as_of_date(
        FormatDate(absl::CivilDay(1900, 1, 1) + (first_key + key) % kDays));
    return request;
  };
  starts["count_uncached"] =
      Unary<stats::CountCountriesRequest, stats::CountCountriesResponse>(
          stub, dated, THB_ASYNC(CountCountries), timeout, load);
  starts["count_keys"] =
      Unary<stats::CountCountriesRequest, stats::CountCountriesResponse>(
          stub,
          [dated, keys](int64_t sequence) {
            return dated(static_cast<int64_t>(Mix(sequence) %
                                              static_cast<uint64_t>(keys)));
          },
          THB_ASYNC(CountCountries), timeout, load);
  starts["breakdown"] =
      Unary<stats::BreakdownRequest, stats::BreakdownResponse>(
          stub, [](int64_t) { return PartnerBreakdown(); },
          THB_ASYNC(Breakdown), timeout, load);
  starts["crosstab"] =
      Unary<stats::CrossTabulateRequest, stats::CrossTabulateResponse>(
          stub, [](int64_t) { return AreaByFormCountries(); },
          THB_ASYNC(CrossTabulate), timeout, load);
  starts["share"] = Unary<stats::ShareRequest, stats::ShareResponse>(
      stub,
      [](int64_t) {
        stats::ShareRequest request;
        *request.mutable_part() = ThreeFieldQuery();
        request.mutable_whole()->mutable_filter();
        request.set_as_of_date("2025-07-16");
        return request;
      },
      THB_ASYNC(Share), timeout, load);
  return starts;
}

// The reporting countries in turn.
registry::v1::GetCountryRequest CountryRequest(int64_t sequence) {
  const auto& codes = SyntheticReportingCountries();
  registry::v1::GetCountryRequest request;
  request.set_code(codes[static_cast<size_t>(sequence) % codes.size()]);
  return request;
}

// One of the records thb-synthetic writes, at random.
cooperation::v1::GetRecordRequest RecordRequest(int64_t sequence,
                                                int64_t records) {
  cooperation::v1::GetRecordRequest request;
  request.set_id(
      absl::StrCat("syn-", Mix(sequence) % static_cast<uint64_t>(records)));
  return request;
}

// A list's first page of 100.
template <typename Request>
Request FirstPage() {
  Request request;
  request.set_page_size(100);
  return request;
}

// The registry's and the cooperation service's reads.
std::map<std::string, Load::Start> StoreStarts(
    std::shared_ptr<grpc::Channel> channel, absl::Duration timeout,
    Load** load) {
  namespace registry = ::thb::registry::v1;
  namespace cooperation = ::thb::cooperation::v1;
  auto countries = std::shared_ptr<registry::CountryRegistryService::Stub>(
      registry::CountryRegistryService::NewStub(channel));
  auto records = std::shared_ptr<cooperation::CooperationRecordService::Stub>(
      cooperation::CooperationRecordService::NewStub(channel));
  const int64_t record_count =
      std::max<int64_t>(1, absl::GetFlag(FLAGS_records));
  std::map<std::string, Load::Start> starts;
  starts["get_country"] =
      Unary<registry::GetCountryRequest, registry::GetCountryResponse>(
          countries, [](int64_t sequence) { return CountryRequest(sequence); },
          THB_ASYNC(GetCountry), timeout, load);
  starts["list_countries"] =
      Unary<registry::ListCountriesRequest, registry::ListCountriesResponse>(
          countries,
          [](int64_t) { return FirstPage<registry::ListCountriesRequest>(); },
          THB_ASYNC(ListCountries), timeout, load);
  starts["get_record"] =
      Unary<cooperation::GetRecordRequest, cooperation::GetRecordResponse>(
          records,
          [record_count](int64_t sequence) {
            return RecordRequest(sequence, record_count);
          },
          THB_ASYNC(GetRecord), timeout, load);
  starts["list_records"] =
      Unary<cooperation::ListRecordsRequest, cooperation::ListRecordsResponse>(
          records,
          [](int64_t) { return FirstPage<cooperation::ListRecordsRequest>(); },
          THB_ASYNC(ListRecords), timeout, load);
  return starts;
}

}  // namespace
}  // namespace thb::bench

int main(int argc, char** argv) {
  using namespace thb::bench;  // NOLINT: a small main
  ParseBenchFlags(argc, argv,
                  "Keeps N calls in flight against one RPC, then "
                  "prints QPS and latency percentiles.");
  const std::string rpc = absl::GetFlag(FLAGS_rpc);
  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);
  auto channel = thb::MakeChannel(absl::GetFlag(FLAGS_target),
                                  BenchChannelOptions("grpc_load"));
  Load* load = nullptr;
  std::map<std::string, Load::Start> starts =
      StatsStarts(channel, timeout, &load);
  starts.merge(StoreStarts(channel, timeout, &load));
  starts["echo"] = EchoStart(channel, timeout, &load);
  auto start = starts.find(rpc);
  if (start == starts.end()) {
    std::vector<std::string> names;
    for (const auto& [name, unused] : starts) names.push_back(name);
    std::fprintf(stderr, "--rpc: \"%s\" is not one of %s\n", rpc.c_str(),
                 absl::StrJoin(names, ", ").c_str());
    return 2;
  }
  Load runner(absl::GetFlag(FLAGS_in_flight), absl::GetFlag(FLAGS_duration),
              absl::GetFlag(FLAGS_max_calls), absl::GetFlag(FLAGS_warmup),
              std::move(start->second));
  load = &runner;
  runner.Run();
  runner.Print(rpc);
  return 0;
}

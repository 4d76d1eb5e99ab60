// Whole StatisticsService requests on the statistics engine over the study's
// records: the first byte picks the RPC, the rest is the binary protobuf of
// its request. Any request gets an answer or an error, within libFuzzer's
// -timeout and -rss_limit_mb (see scripts/fuzz.sh).

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/dates.h"
#include "domain/dataset.h"
#include "fuzz/fuzz_support.h"
#include "services/aggregator/query_engine.h"
#include "services/aggregator/record_index.h"

namespace {

using namespace thb::aggregator;  // NOLINT: a fuzz target's whole subject
namespace stats = thb::stats::v1;

const RecordIndex& StudyIndex() {
  static const RecordIndex* index = [] {
    auto dataset = thb::domain::LoadDataset(THB_STUDY_DATASET);
    if (!dataset.ok()) thb::fuzz::Fail("study", dataset.status().ToString());
    auto* index = new RecordIndex();
    int64_t revision = 0;
    for (auto record : dataset->records()) {
      record.set_revision(++revision);
      index->Upsert(record);
    }
    return index;
  }();
  return *index;
}

// A fixed day for requests without one, so that an input replays the same.
absl::CivilDay AsOf(const std::string& text) {
  if (text.empty()) return absl::CivilDay(2025, 7, 1);
  auto day = thb::ParseDate(text, "as_of_date");
  return day.ok() ? *day : absl::CivilDay(2025, 7, 1);
}

template <typename Request>
bool Parse(std::string_view bytes, Request& request) {
  return request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto [rpc, bytes] = thb::fuzz::Selector(data, size);
  const RecordIndex& index = StudyIndex();
  const auto& registry = thb::fuzz::ReferenceSnapshot();
  switch (rpc % 5) {
    case 0: {
      stats::CountCountriesRequest request;
      if (!Parse(bytes, request)) return 0;
      auto response = CountCountries(
          index, registry, AsOf(request.as_of_date()), request.query());
      if (response.ok()) {
        THB_FUZZ_CHECK(response->count() == response->countries_size(),
                       response->DebugString());
      }
      return 0;
    }
    case 1: {
      stats::BreakdownRequest request;
      if (!Parse(bytes, request)) return 0;
      (void)Breakdown(index, registry, AsOf(request.as_of_date()),
                      request.query(), request.dimension(), request.measure());
      return 0;
    }
    case 2: {
      stats::CrossTabulateRequest request;
      if (!Parse(bytes, request)) return 0;
      (void)CrossTabulate(index, registry, AsOf(request.as_of_date()),
                          request.query(), request.row_dimension(),
                          request.column_dimension(), request.measure());
      return 0;
    }
    case 3: {
      stats::ShareRequest request;
      if (!Parse(bytes, request)) return 0;
      auto response = Share(index, registry, AsOf(request.as_of_date()),
                            request.part(), request.whole());
      if (response.ok()) {
        THB_FUZZ_CHECK(response->percent() >= 0, response->DebugString());
      }
      return 0;
    }
    default: {
      stats::ExplainRequest request;
      if (!Parse(bytes, request)) return 0;
      (void)Explain(index, registry, AsOf(request.as_of_date()),
                    request.query());
      return 0;
    }
  }
}

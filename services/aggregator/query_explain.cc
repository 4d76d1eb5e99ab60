// Explain: per country of an answer, the records behind it, with their
// sources.

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "services/aggregator/query_engine_internal.h"

namespace thb::aggregator::internal {

absl::StatusOr<stats::v1::ExplainResponse> ComputeExplain(
    const RecordIndex& index, const registry::RegistrySnapshot& registry,
    absl::CivilDay as_of, const CountryQuery& query, const StopWhen& stop) {
  Evaluator evaluator(index, registry, as_of, stop);
  const CountrySet answer = evaluator.Countries(query);
  const Bits selection = evaluator.Selection(query, answer);
  if (evaluator.stopped()) return evaluator.stop_status();
  int64_t selected = 0;
  for (Word word : selection) selected += PopCount(word);
  if (selected > kMaxExplainRecords) {
    return TooLarge("records", selected, kMaxExplainRecords,
                    "narrow the query");
  }
  std::vector<std::vector<Slot>> slots(index.country_count());
  for (size_t i = 0; i < selection.size(); ++i) {
    for (Word word = selection[i]; word != 0; word &= word - 1) {
      const Slot slot = static_cast<Slot>(i * kWordBits + LowestBit(word));
      slots[index.country(slot)].push_back(slot);
    }
  }
  const Answer described = Describe(evaluator, answer);
  stats::v1::ExplainResponse response;
  for (CountryId id : described.countries) {
    stats::v1::CountryExplanation* country = response.add_countries();
    country->set_country(index.country_code(id));
    country->set_emn_status(evaluator.Status(id));
    std::vector<Slot>& records = slots[id];
    std::sort(records.begin(), records.end(),
              [&index](Slot a, Slot b) { return index.id(a) < index.id(b); });
    for (Slot slot : records) {
      stats::v1::RecordEvidence* evidence = country->add_records();
      evidence->set_record_id(std::string(index.id(slot)));
      evidence->set_kind(index.kind(slot));
      evidence->set_title(std::string(index.title(slot)));
      index.AppendSources(slot, evidence->mutable_sources());
    }
  }
  response.set_footnote(FootnoteOf(index, described));
  SetAsOf(as_of, response.mutable_as_of());
  return response;
}

}  // namespace thb::aggregator::internal

#ifndef THB_BENCH_SYNTHETIC_H_
#define THB_BENCH_SYNTHETIC_H_

#include <cstdint>
#include <string>
#include <vector>

#include "thb/cooperation/v1/cooperation.pb.h"
#include "thb/cooperation/v1/dataset.pb.h"

namespace thb::bench {

// Synthetic cooperation records with a realistic spread: the 26 EMN Members
// and 9 Observers report, larger countries more often; kinds, thematic
// areas, forms, partners, regions, tags and periods are drawn with the
// skew of the study (many measures and good practices, few evaluations;
// IOM and UNODC more common than CEPOL). The same seed gives the same
// records.
class SyntheticRecords {
 public:
  explicit SyntheticRecords(uint64_t seed);

  // Record number `index` of the sequence: id "syn-<index>".
  cooperation::v1::CooperationRecord Make(int64_t index);

 private:
  uint64_t seed_;
};

// Records 0 to `records` - 1 of the sequence of `seed` as a dataset that
// `thbctl import` reads: a title, a source and the records, no statements.
cooperation::v1::Dataset SyntheticDataset(int64_t records, uint64_t seed);

// The reporting countries the generator uses (EMN Members and Observers).
const std::vector<std::string>& SyntheticReportingCountries();

}  // namespace thb::bench

#endif  // THB_BENCH_SYNTHETIC_H_

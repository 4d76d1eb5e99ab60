#ifndef THB_BENCH_SYNTHETIC_H_
#define THB_BENCH_SYNTHETIC_H_

#include <cstdint>
#include <string>
#include <vector>

#include "thb/cooperation/v1/cooperation.pb.h"

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

// The reporting countries the generator uses (EMN Members and Observers).
const std::vector<std::string>& SyntheticReportingCountries();

}  // namespace thb::bench

#endif  // THB_BENCH_SYNTHETIC_H_

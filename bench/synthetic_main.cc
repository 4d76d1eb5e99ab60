// Writes synthetic cooperation records as a dataset `thbctl import` reads:
// protobuf text format, or the JSON mapping when the name ends in ".json".
//
//   thb-synthetic --records=100000 --seed=1 --out=synthetic.txtpb
//   thbctl import synthetic.txtpb

#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "bench/synthetic.h"
#include "domain/dataset.h"

ABSL_FLAG(int64_t, records, 10000, "How many records.");
ABSL_FLAG(uint64_t, seed, 1, "The same seed gives the same records.");
ABSL_FLAG(std::string, out, "", "The file to write (.txtpb or .json).");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string out = absl::GetFlag(FLAGS_out);
  const int64_t records = absl::GetFlag(FLAGS_records);
  if (out.empty()) {
    std::fprintf(stderr, "thb-synthetic: --out is required\n");
    return 2;
  }
  if (records < 0 || records > 100000000) {
    std::fprintf(stderr, "thb-synthetic: --records=%lld is outside 0..1e8\n",
                 static_cast<long long>(records));
    return 2;
  }
  const auto dataset =
      thb::bench::SyntheticDataset(records, absl::GetFlag(FLAGS_seed));
  if (auto status = thb::domain::SaveDataset(dataset, out); !status.ok()) {
    std::fprintf(stderr, "thb-synthetic: %s\n", status.ToString().c_str());
    return 1;
  }
  std::printf("wrote %lld records to %s\n", static_cast<long long>(records),
              out.c_str());
  return 0;
}

// The dataset reader on arbitrary JSON: no crash, and a dataset that parses
// reads back the same from its own JSON form.

#include <cstddef>
#include <cstdint>
#include <string>

#include "domain/dataset.h"
#include "fuzz/fuzz_support.h"
#include "google/protobuf/util/json_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string json(reinterpret_cast<const char*>(data), size);
  auto dataset = thb::domain::ParseDatasetJson(json, "fuzz.json");
  if (!dataset.ok()) return 0;
  (void)thb::domain::ValidateDataset(*dataset);
  std::string printed;
  auto status = google::protobuf::util::MessageToJsonString(*dataset, &printed);
  THB_FUZZ_CHECK(status.ok(), status.ToString());
  auto again = thb::domain::ParseDatasetJson(printed, "printed.json");
  THB_FUZZ_CHECK(again.ok(), again.status().ToString() + "\n" + printed);
  std::string difference;
  THB_FUZZ_CHECK(thb::fuzz::SameMessage(*dataset, *again, &difference),
                 difference);
  return 0;
}

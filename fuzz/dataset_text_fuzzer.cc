// The dataset reader on arbitrary text: no crash, and a dataset that parses
// reads back the same from what SaveDataset would write.

#include <cstddef>
#include <cstdint>
#include <string>

#include "domain/dataset.h"
#include "fuzz/fuzz_support.h"
#include "google/protobuf/text_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto dataset = thb::domain::ParseDatasetText(text, "fuzz.txtpb");
  if (!dataset.ok()) return 0;
  (void)thb::domain::ValidateDataset(*dataset);
  std::string printed;
  THB_FUZZ_CHECK(
      google::protobuf::TextFormat::PrintToString(*dataset, &printed), text);
  auto again = thb::domain::ParseDatasetText(printed, "printed.txtpb");
  THB_FUZZ_CHECK(again.ok(), again.status().ToString());
  std::string difference;
  THB_FUZZ_CHECK(thb::fuzz::SameMessage(*dataset, *again, &difference),
                 difference);
  return 0;
}

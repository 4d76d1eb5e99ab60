#include "fuzz/fuzz_support.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "absl/status/statusor.h"
#include "google/protobuf/util/message_differencer.h"
#include "services/registry/reference_data.h"

namespace thb::fuzz {
namespace {

class StaticReferences : public registry::References {
 public:
  absl::StatusOr<std::shared_ptr<const registry::RegistrySnapshot>> Snapshot(
      absl::Time) const override {
    // Never freed: the snapshot lives as long as the process.
    static const auto* snapshot =
        new std::shared_ptr<const registry::RegistrySnapshot>(
            &ReferenceSnapshot(), [](const registry::RegistrySnapshot*) {});
    return *snapshot;
  }
};

}  // namespace

void Fail(std::string_view what, std::string_view detail) {
  std::fprintf(stderr, "fuzz property failed: %.*s\n%.*s\n",
               static_cast<int>(what.size()), what.data(),
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

const registry::RegistrySnapshot& ReferenceSnapshot() {
  static const registry::RegistrySnapshot* snapshot = [] {
    auto reference =
        registry::LoadReferenceData(registry::kDefaultIsoCodesPath);
    if (!reference.ok()) Fail("reference data", reference.status().ToString());
    auto* snapshot = new registry::RegistrySnapshot();
    snapshot->revision = 1;
    for (const auto& country : reference->countries) {
      snapshot->countries[country.code()] = country;
      if (country.iso_alpha2() != country.code()) {
        snapshot->aliases[country.iso_alpha2()] = country.code();
      }
    }
    for (const auto& region : reference->regions) {
      snapshot->regions[region.id()] = region;
    }
    for (const auto& organisation : reference->organisations) {
      snapshot->organisations[organisation.id()] = organisation;
    }
    return snapshot;
  }();
  return *snapshot;
}

const registry::References& ReferenceRegistry() {
  static const StaticReferences* references = new StaticReferences();
  return *references;
}

audit::Invocation FuzzCaller() {
  return {{"spiffe://thb/editor/fuzz", "ipv4:127.0.0.1:50000"},
          "/thb.fuzz/Call"};
}

ScratchDir::ScratchDir() {
  std::error_code error;
  std::string base = std::filesystem::is_directory("/dev/shm", error)
                         ? "/dev/shm"
                         : std::filesystem::temp_directory_path().string();
  std::string pattern = base + "/thb-fuzz-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) Fail("mkdtemp", pattern);
  path_ = pattern;
}

ScratchDir::~ScratchDir() {
  std::error_code error;
  std::filesystem::remove_all(path_, error);
}

std::pair<uint8_t, std::string_view> Selector(const uint8_t* data,
                                              size_t size) {
  if (size == 0) return {0, {}};
  return {data[0],
          std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1)};
}

bool SameMessage(const google::protobuf::Message& a,
                 const google::protobuf::Message& b, std::string* difference) {
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(difference);
  return differencer.Compare(a, b);
}

void ClearServerFields(google::protobuf::Message& message) {
  const auto* descriptor = message.GetDescriptor();
  for (const char* name :
       {"revision", "etag", "create_time", "update_time", "last_changed_by"}) {
    if (const auto* field = descriptor->FindFieldByName(name)) {
      message.GetReflection()->ClearField(&message, field);
    }
  }
}

}  // namespace thb::fuzz

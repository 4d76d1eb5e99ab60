#ifndef THB_FUZZ_FUZZ_SUPPORT_H_
#define THB_FUZZ_FUZZ_SUPPORT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/audit_log.h"
#include "google/protobuf/message.h"
#include "services/registry/client/registry_snapshot.h"

namespace thb::fuzz {

// Stops the run with a message when a property does not hold: libFuzzer
// records the input that did it.
[[noreturn]] void Fail(std::string_view what, std::string_view detail);
#define THB_FUZZ_CHECK(condition, detail)                      \
  do {                                                         \
    if (!(condition)) ::thb::fuzz::Fail(#condition, (detail)); \
  } while (false)

// The registry a fresh registry service starts with, as a mirror holds it.
const registry::RegistrySnapshot& ReferenceSnapshot();

// ReferenceSnapshot behind the interface the cooperation core uses.
const registry::References& ReferenceRegistry();

// A call as the services hand it to a core.
audit::Invocation FuzzCaller();

// A new empty directory for one input's stores (in /dev/shm when there is
// one: SQLite's fsync costs nothing there), removed with the object.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Splits a fuzz input into the leading byte (0 when empty) and the rest.
std::pair<uint8_t, std::string_view> Selector(const uint8_t* data, size_t size);

// Whether two messages are equal field by field, with the difference.
bool SameMessage(const google::protobuf::Message& a,
                 const google::protobuf::Message& b, std::string* difference);

// Clears the fields a server sets on every write (revision, etag, times,
// last writer), so that two versions of a resource compare by content.
void ClearServerFields(google::protobuf::Message& message);

}  // namespace thb::fuzz

#endif  // THB_FUZZ_FUZZ_SUPPORT_H_

// Whole CooperationRecordService requests on the cooperation core over a
// fresh SQLite store. The input is a sequence of at most 16 calls, each a
// byte that picks the RPC, the length of the request in two bytes (little
// endian; cut short by the end of the input) and the binary protobuf of the
// request.
// Every call answers or fails cleanly, and a record a write returns is the
// record a read then finds.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/time/clock.h"
#include "fuzz/fuzz_support.h"
#include "services/cooperation/cooperation_core.h"
#include "services/cooperation/sqlite_cooperation_store.h"

namespace {

namespace v1 = thb::cooperation::v1;
using thb::cooperation::CooperationCore;

template <typename Request>
bool Parse(std::string_view bytes, Request& request) {
  return request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

// A read finds what a write answered.
void CheckStored(CooperationCore& core, const v1::CooperationRecord& written) {
  v1::GetRecordRequest get;
  get.set_id(written.id());
  auto read = core.GetRecord(get);
  THB_FUZZ_CHECK(read.ok(), read.status().ToString());
  std::string difference;
  THB_FUZZ_CHECK(thb::fuzz::SameMessage(written, read->record(), &difference),
                 difference);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  thb::fuzz::ScratchDir dir;
  auto store =
      thb::cooperation::SqliteCooperationStore::Open(dir.path() + "/c.sqlite3");
  if (!store.ok()) thb::fuzz::Fail("store", store.status().ToString());
  thb::cooperation::CoreOptions options;
  options.max_batch_records = 50;
  auto opened = CooperationCore::Open(std::move(*store),
                                      &thb::fuzz::ReferenceRegistry(), options);
  if (!opened.ok()) thb::fuzz::Fail("core", opened.status().ToString());
  CooperationCore& core = **opened;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);

  size_t at = 0;
  for (int call = 0; call < 16 && at + 3 <= size; ++call) {
    const uint8_t rpc = data[at];
    const size_t length = std::min<size_t>(
        data[at + 1] | (size_t{data[at + 2]} << 8), size - at - 3);
    const std::string_view bytes(reinterpret_cast<const char*>(data) + at + 3,
                                 length);
    at += 3 + length;
    switch (rpc % 7) {
      case 0: {
        v1::CreateRecordRequest request;
        if (!Parse(bytes, request)) break;
        auto response =
            core.CreateRecord(request, deadline, thb::fuzz::FuzzCaller());
        if (response.ok()) CheckStored(core, response->record());
        break;
      }
      case 1: {
        v1::BatchCreateRecordsRequest request;
        if (!Parse(bytes, request)) break;
        auto response =
            core.BatchCreateRecords(request, deadline, thb::fuzz::FuzzCaller());
        if (response.ok()) {
          for (const auto& record : response->records()) {
            CheckStored(core, record);
          }
        }
        break;
      }
      case 2: {
        v1::UpdateRecordRequest request;
        if (!Parse(bytes, request)) break;
        auto response =
            core.UpdateRecord(request, deadline, thb::fuzz::FuzzCaller());
        if (response.ok()) CheckStored(core, response->record());
        break;
      }
      case 3: {
        v1::DeleteRecordRequest request;
        if (!Parse(bytes, request)) break;
        (void)core.DeleteRecord(request, thb::fuzz::FuzzCaller());
        break;
      }
      case 4: {
        v1::GetRecordRequest request;
        if (!Parse(bytes, request)) break;
        (void)core.GetRecord(request);
        break;
      }
      case 5: {
        v1::ListRecordsRequest request;
        if (!Parse(bytes, request)) break;
        (void)core.ListRecords(request, deadline);
        break;
      }
      default: {
        v1::WatchRequest request;
        if (!Parse(bytes, request)) break;
        (void)core.ChangesAfter(request.from_revision(), request.incarnation());
        break;
      }
    }
  }
  return 0;
}

// Update-mask merges on the cooperation core: a study record is stored, then
// the update in the input (the binary protobuf of an UpdateRecordRequest,
// aimed at that record) is applied twice. A merge that is accepted once is
// accepted again and changes nothing the second time: the first write's
// canonical form is a fixed point of the merge and the validation after it.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/time/clock.h"
#include "domain/dataset.h"
#include "fuzz/fuzz_support.h"
#include "services/cooperation/cooperation_core.h"
#include "services/cooperation/sqlite_cooperation_store.h"

namespace {

namespace v1 = thb::cooperation::v1;

const v1::CooperationRecord& StudyRecord() {
  static const v1::CooperationRecord* record = [] {
    auto dataset = thb::domain::LoadDataset(THB_STUDY_DATASET);
    if (!dataset.ok() || dataset->records().empty()) {
      thb::fuzz::Fail("study", dataset.status().ToString());
    }
    return new v1::CooperationRecord(dataset->records(0));
  }();
  return *record;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  v1::UpdateRecordRequest update;
  if (!update.ParseFromArray(data, static_cast<int>(size))) return 0;

  thb::fuzz::ScratchDir dir;
  auto store =
      thb::cooperation::SqliteCooperationStore::Open(dir.path() + "/c.sqlite3");
  if (!store.ok()) thb::fuzz::Fail("store", store.status().ToString());
  auto opened = thb::cooperation::CooperationCore::Open(
      std::move(*store), &thb::fuzz::ReferenceRegistry());
  if (!opened.ok()) thb::fuzz::Fail("core", opened.status().ToString());
  auto& core = **opened;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);

  v1::CreateRecordRequest create;
  *create.mutable_record() = StudyRecord();
  auto created = core.CreateRecord(create, deadline, thb::fuzz::FuzzCaller());
  if (!created.ok()) thb::fuzz::Fail("create", created.status().ToString());

  update.mutable_record()->set_id(created->record().id());
  update.mutable_record()->clear_etag();
  update.clear_request_id();
  auto first = core.UpdateRecord(update, deadline, thb::fuzz::FuzzCaller());
  if (!first.ok()) return 0;
  auto second = core.UpdateRecord(update, deadline, thb::fuzz::FuzzCaller());
  THB_FUZZ_CHECK(second.ok(),
                 second.status().ToString() + "\n" + update.DebugString());
  v1::CooperationRecord once = first->record();
  v1::CooperationRecord twice = second->record();
  thb::fuzz::ClearServerFields(once);
  thb::fuzz::ClearServerFields(twice);
  std::string difference;
  THB_FUZZ_CHECK(thb::fuzz::SameMessage(once, twice, &difference),
                 difference + "\n" + update.DebugString());
  return 0;
}

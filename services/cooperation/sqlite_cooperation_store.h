#ifndef THB_SERVICES_COOPERATION_SQLITE_COOPERATION_STORE_H_
#define THB_SERVICES_COOPERATION_SQLITE_COOPERATION_STORE_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/sqlite.h"
#include "services/cooperation/cooperation_store.h"

namespace thb::cooperation {

// CooperationStore on one SQLite file in WAL mode with synchronous=FULL.
// Writes go through one connection and reads through another, so a reader
// never waits for a commit's disk flush.
class SqliteCooperationStore : public CooperationStore {
 public:
  static absl::StatusOr<std::unique_ptr<SqliteCooperationStore>> Open(
      const std::string& path);

  absl::StatusOr<StoreInfo> Info() override;
  absl::StatusOr<std::optional<RecordRow>> Get(const std::string& id) override;
  absl::StatusOr<std::vector<std::string>> Existing(
      const std::vector<std::string>& ids) override;
  absl::StatusOr<std::vector<RecordRow>> Scan(const std::string& after_id,
                                              int limit) override;
  absl::StatusOr<int64_t> Count() override;
  absl::StatusOr<std::vector<ChangeRow>> ChangesAfter(
      int64_t after_revision, int max_changes, size_t max_bytes) override;
  absl::StatusOr<std::optional<StoredRequest>> FindRequest(
      const std::string& request_id) override;
  absl::Status Commit(const CommitBatch& batch) override;
  absl::StatusOr<std::vector<audit::Event>> ReadAudit(
      const audit::Query& query) override;
  absl::StatusOr<int> PruneAudit(int64_t before_micros, int limit) override;

 private:
  SqliteCooperationStore(std::unique_ptr<sqlite::Database> writer,
                         std::unique_ptr<sqlite::Database> reader)
      : writer_(std::move(writer)), reader_(std::move(reader)) {}

  absl::Mutex write_mu_;
  std::unique_ptr<sqlite::Database> writer_ ABSL_GUARDED_BY(write_mu_);
  absl::Mutex read_mu_;
  std::unique_ptr<sqlite::Database> reader_ ABSL_GUARDED_BY(read_mu_);
};

}  // namespace thb::cooperation

#endif  // THB_SERVICES_COOPERATION_SQLITE_COOPERATION_STORE_H_

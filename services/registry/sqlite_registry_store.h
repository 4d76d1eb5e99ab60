#ifndef THB_SERVICES_REGISTRY_SQLITE_REGISTRY_STORE_H_
#define THB_SERVICES_REGISTRY_SQLITE_REGISTRY_STORE_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/sqlite.h"
#include "services/registry/registry_store.h"

namespace thb::registry {

// RegistryStore on one SQLite file (WAL, synchronous=FULL).
class SqliteRegistryStore : public RegistryStore {
 public:
  static absl::StatusOr<std::unique_ptr<SqliteRegistryStore>> Open(
      const std::string& path);

  absl::StatusOr<StoreState> Load() override;
  absl::Status Commit(const CommitBatch& batch) override;
  absl::StatusOr<std::vector<audit::Event>> ReadAudit(
      const audit::Query& query) override;
  absl::StatusOr<int> PruneAudit(int64_t before_micros, int limit) override;

 private:
  explicit SqliteRegistryStore(std::unique_ptr<sqlite::Database> db)
      : db_(std::move(db)) {}

  absl::StatusOr<int64_t> StoredRevision() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  std::unique_ptr<sqlite::Database> db_ ABSL_GUARDED_BY(mu_);
};

}  // namespace thb::registry

#endif  // THB_SERVICES_REGISTRY_SQLITE_REGISTRY_STORE_H_

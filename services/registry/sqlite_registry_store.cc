#include "services/registry/sqlite_registry_store.h"

#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace thb::registry {
namespace {

const std::vector<std::string>& Migrations() {
  static const auto* migrations = new std::vector<std::string>{
      R"sql(
        CREATE TABLE meta (
          key TEXT PRIMARY KEY,
          value TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE resources (
          kind INTEGER NOT NULL,
          id TEXT NOT NULL,
          revision INTEGER NOT NULL,
          data BLOB NOT NULL,
          PRIMARY KEY (kind, id)
        ) WITHOUT ROWID;
        CREATE TABLE changes (
          revision INTEGER NOT NULL,
          seq INTEGER NOT NULL,
          type INTEGER NOT NULL,
          kind INTEGER NOT NULL,
          id TEXT NOT NULL,
          commit_time_micros INTEGER NOT NULL,
          data BLOB NOT NULL,
          PRIMARY KEY (revision, seq)
        ) WITHOUT ROWID;
        INSERT INTO meta (key, value) VALUES ('revision', '0');
        INSERT INTO meta (key, value) VALUES ('compacted_revision', '0');
      )sql",
      audit::kMigrationSql,
      // The store's incarnation, replaced on every open (see Open), from
      // SQLite's randomness (the operating system's).
      R"sql(
        INSERT INTO meta (key, value)
        VALUES ('incarnation', lower(hex(randomblob(16))));
      )sql",
  };
  return *migrations;
}

// Keys of `meta` that the store itself owns.
constexpr char kRevisionKey[] = "revision";
constexpr char kCompactedKey[] = "compacted_revision";
constexpr char kIncarnationKey[] = "incarnation";

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteRegistryStore>> SqliteRegistryStore::Open(
    const std::string& path) {
  auto db = sqlite::Database::Open(path);
  if (!db.ok()) return db.status();
  if (auto status = (*db)->Migrate(Migrations()); !status.ok()) return status;
  // Every open is a new life: a file copied back from a backup cannot be
  // told from the one that was there (see docs/DECISIONS.md, "Followers").
  if (auto status = (*db)->Exec(
          "UPDATE meta SET value = lower(hex(randomblob(16))) WHERE key = "
          "'incarnation'");
      !status.ok()) {
    return status;
  }
  return std::unique_ptr<SqliteRegistryStore>(
      new SqliteRegistryStore(std::move(*db)));
}

absl::StatusOr<int64_t> SqliteRegistryStore::StoredRevision() {
  auto stmt = db_->Prepare("SELECT value FROM meta WHERE key = ?1");
  if (!stmt.ok()) return stmt.status();
  (*stmt)->Bind(1, kRevisionKey);
  auto row = (*stmt)->Step();
  if (!row.ok()) return row.status();
  int64_t revision = 0;
  if (!*row || !absl::SimpleAtoi((*stmt)->ColumnText(0), &revision)) {
    return absl::DataLossError("registry store has no valid revision");
  }
  return revision;
}

absl::StatusOr<StoreState> SqliteRegistryStore::Load() {
  absl::MutexLock lock(&mu_);
  StoreState state;
  auto meta = db_->Prepare("SELECT key, value FROM meta");
  if (!meta.ok()) return meta.status();
  while (true) {
    auto row = (*meta)->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    state.meta[(*meta)->ColumnText(0)] = (*meta)->ColumnText(1);
  }
  if (!absl::SimpleAtoi(state.meta[kRevisionKey], &state.revision) ||
      !absl::SimpleAtoi(state.meta[kCompactedKey], &state.compacted_revision)) {
    return absl::DataLossError("registry store has no valid revision");
  }
  state.incarnation = state.meta[kIncarnationKey];
  if (state.incarnation.empty()) {
    return absl::DataLossError("registry store has no incarnation");
  }
  state.meta.erase(kRevisionKey);
  state.meta.erase(kCompactedKey);
  state.meta.erase(kIncarnationKey);

  auto resources = db_->Prepare(
      "SELECT kind, id, revision, data FROM resources ORDER BY kind, id");
  if (!resources.ok()) return resources.status();
  while (true) {
    auto row = (*resources)->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    StoredResource resource;
    resource.kind = static_cast<ResourceKind>((*resources)->ColumnInt(0));
    resource.id = (*resources)->ColumnText(1);
    resource.revision = (*resources)->ColumnInt(2);
    resource.data = (*resources)->ColumnBlob(3);
    state.resources.push_back(std::move(resource));
  }

  auto changes = db_->Prepare(
      "SELECT revision, type, kind, id, commit_time_micros, data FROM changes "
      "ORDER BY revision, seq");
  if (!changes.ok()) return changes.status();
  while (true) {
    auto row = (*changes)->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    StoredChange change;
    change.revision = (*changes)->ColumnInt(0);
    change.type = static_cast<ChangeKind>((*changes)->ColumnInt(1));
    change.kind = static_cast<ResourceKind>((*changes)->ColumnInt(2));
    change.id = (*changes)->ColumnText(3);
    change.commit_time_micros = (*changes)->ColumnInt(4);
    change.data = (*changes)->ColumnBlob(5);
    state.changes.push_back(std::move(change));
  }
  return state;
}

absl::Status SqliteRegistryStore::Commit(const CommitBatch& batch) {
  absl::MutexLock lock(&mu_);
  auto txn = sqlite::Transaction::Begin(db_.get());
  if (!txn.ok()) return txn.status();
  auto current = StoredRevision();
  if (!current.ok()) return current.status();
  if (batch.revision != *current + 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("commit at revision ", batch.revision,
                     " but the store is at revision ", *current));
  }
  // Events and changes share the transaction: whatever fails below rolls
  // both back.
  if (auto status = audit::Append(db_.get(), batch.audit); !status.ok()) {
    return status;
  }

  auto upsert = db_->Prepare(
      "INSERT INTO resources (kind, id, revision, data) VALUES (?1, ?2, ?3, "
      "?4) ON CONFLICT (kind, id) DO UPDATE SET revision = excluded.revision, "
      "data = excluded.data");
  if (!upsert.ok()) return upsert.status();
  auto remove =
      db_->Prepare("DELETE FROM resources WHERE kind = ?1 AND id = ?2");
  if (!remove.ok()) return remove.status();
  auto log = db_->Prepare(
      "INSERT INTO changes (revision, seq, type, kind, id, commit_time_micros, "
      "data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (!log.ok()) return log.status();

  int64_t seq = 0;
  for (const StoredChange& change : batch.changes) {
    if (change.type == ChangeKind::kDeleted) {
      (*remove)->Bind(1, static_cast<int64_t>(change.kind)).Bind(2, change.id);
      if (auto status = (*remove)->Run(); !status.ok()) return status;
      (*remove)->Reset();
    } else {
      (*upsert)
          ->Bind(1, static_cast<int64_t>(change.kind))
          .Bind(2, change.id)
          .Bind(3, batch.revision)
          .BindBlob(4, change.data);
      if (auto status = (*upsert)->Run(); !status.ok()) return status;
      (*upsert)->Reset();
    }
    (*log)
        ->Bind(1, batch.revision)
        .Bind(2, seq++)
        .Bind(3, static_cast<int64_t>(change.type))
        .Bind(4, static_cast<int64_t>(change.kind))
        .Bind(5, change.id)
        .Bind(6, change.commit_time_micros)
        .BindBlob(7, change.data);
    if (auto status = (*log)->Run(); !status.ok()) return status;
    (*log)->Reset();
  }

  auto set_meta = db_->Prepare(
      "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO "
      "UPDATE SET value = excluded.value");
  if (!set_meta.ok()) return set_meta.status();
  std::map<std::string, std::string> meta = batch.meta;
  meta[kRevisionKey] = absl::StrCat(batch.revision);
  if (batch.compact_through > 0) {
    auto compact = db_->Prepare("DELETE FROM changes WHERE revision <= ?1");
    if (!compact.ok()) return compact.status();
    (*compact)->Bind(1, batch.compact_through);
    if (auto status = (*compact)->Run(); !status.ok()) return status;
    meta[kCompactedKey] = absl::StrCat(batch.compact_through);
  }
  for (const auto& [key, value] : meta) {
    (*set_meta)->Bind(1, key).Bind(2, value);
    if (auto status = (*set_meta)->Run(); !status.ok()) return status;
    (*set_meta)->Reset();
  }
  if (batch.audit_expired_before_micros != 0) {
    auto pruned = audit::Prune(db_.get(), batch.audit_expired_before_micros,
                               audit::kMaxPrunedPerCommit);
    if (!pruned.ok()) return pruned.status();
  }
  return (*txn)->Commit();
}

absl::StatusOr<std::vector<audit::Event>> SqliteRegistryStore::ReadAudit(
    const audit::Query& query) {
  absl::MutexLock lock(&mu_);
  return audit::Read(db_.get(), query);
}

absl::StatusOr<int> SqliteRegistryStore::PruneAudit(int64_t before_micros,
                                                    int limit) {
  absl::MutexLock lock(&mu_);
  auto txn = sqlite::Transaction::Begin(db_.get());
  if (!txn.ok()) return txn.status();
  auto pruned = audit::Prune(db_.get(), before_micros, limit);
  if (!pruned.ok()) return pruned.status();
  if (auto status = (*txn)->Commit(); !status.ok()) return status;
  return *pruned;
}

}  // namespace thb::registry

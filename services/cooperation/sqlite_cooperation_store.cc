#include "services/cooperation/sqlite_cooperation_store.h"

#include <limits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/message_budget.h"

namespace thb::cooperation {
namespace {

constexpr int64_t kWriterCacheKib = 64 * 1024;

const std::vector<std::string>& Migrations() {
  static const auto* migrations = new std::vector<std::string>{
      R"sql(
        CREATE TABLE meta (
          key TEXT PRIMARY KEY,
          value INTEGER NOT NULL
        ) WITHOUT ROWID;
        INSERT INTO meta (key, value) VALUES ('revision', 0);
        INSERT INTO meta (key, value) VALUES ('compacted_revision', 0);
        CREATE TABLE records (
          id TEXT PRIMARY KEY,
          revision INTEGER NOT NULL,
          data BLOB NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE changes (
          revision INTEGER NOT NULL,
          seq INTEGER NOT NULL,
          type INTEGER NOT NULL,
          id TEXT NOT NULL,
          commit_time_micros INTEGER NOT NULL,
          data BLOB NOT NULL,
          PRIMARY KEY (revision, seq)
        ) WITHOUT ROWID;
        CREATE TABLE requests (
          request_id TEXT PRIMARY KEY,
          fingerprint INTEGER NOT NULL,
          revision INTEGER NOT NULL,
          response BLOB NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX requests_by_revision ON requests (revision);
      )sql",
      audit::kMigrationSql,
      // The store's incarnation, replaced on every open (see Open), from
      // SQLite's randomness (the operating system's). A blob, because `value`
      // has integer affinity and would turn an all-digit hex text into a
      // number.
      R"sql(
        INSERT INTO meta (key, value) VALUES ('incarnation', randomblob(16));
      )sql",
  };
  return *migrations;
}

absl::StatusOr<int64_t> MetaValue(sqlite::Database* db, const char* key) {
  auto stmt = db->Prepare("SELECT value FROM meta WHERE key = ?1");
  if (!stmt.ok()) return stmt.status();
  (*stmt)->Bind(1, key);
  auto row = (*stmt)->Step();
  if (!row.ok()) return row.status();
  if (!*row) {
    return absl::DataLossError(
        absl::StrCat("cooperation store has no ", key, " in its meta table"));
  }
  const int64_t value = (*stmt)->ColumnInt(0);
  (*stmt)->Reset();
  return value;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteCooperationStore>>
SqliteCooperationStore::Open(const std::string& path) {
  // The writer keeps the pages a bulk import keeps coming back to (the
  // inner pages of the records and the end of the change log) in memory
  // rather than reading them back from the log file.
  sqlite::Options writer_options;
  writer_options.cache_kib = kWriterCacheKib;
  auto writer = sqlite::Database::Open(path, writer_options);
  if (!writer.ok()) return writer.status();
  if (auto status = (*writer)->Migrate(Migrations()); !status.ok()) {
    return status;
  }
  // Every open is a new life: a file copied back from a backup cannot be
  // told from the one that was there (see docs/DECISIONS.md, "Followers").
  if (auto status = (*writer)->Exec(
          "UPDATE meta SET value = randomblob(16) WHERE key = 'incarnation'");
      !status.ok()) {
    return status;
  }
  auto reader = sqlite::Database::Open(path);
  if (!reader.ok()) return reader.status();
  return std::unique_ptr<SqliteCooperationStore>(
      new SqliteCooperationStore(std::move(*writer), std::move(*reader)));
}

absl::StatusOr<StoreInfo> SqliteCooperationStore::Info() {
  absl::MutexLock lock(&read_mu_);
  StoreInfo info;
  auto revision = MetaValue(reader_.get(), "revision");
  if (!revision.ok()) return revision.status();
  auto compacted = MetaValue(reader_.get(), "compacted_revision");
  if (!compacted.ok()) return compacted.status();
  info.revision = *revision;
  info.compacted_revision = *compacted;
  auto stmt =
      reader_->Prepare("SELECT value FROM meta WHERE key = 'incarnation'");
  if (!stmt.ok()) return stmt.status();
  auto row = (*stmt)->Step();
  if (!row.ok()) return row.status();
  const std::string incarnation = *row ? (*stmt)->ColumnBlob(0) : "";
  (*stmt)->Reset();
  if (incarnation.size() != 16) {
    return absl::DataLossError(
        "cooperation store has no valid incarnation in its meta table");
  }
  info.incarnation = absl::BytesToHexString(incarnation);
  return info;
}

absl::StatusOr<std::optional<RecordRow>> SqliteCooperationStore::Get(
    const std::string& id) {
  absl::MutexLock lock(&read_mu_);
  auto stmt =
      reader_->Prepare("SELECT revision, data FROM records WHERE id = ?1");
  if (!stmt.ok()) return stmt.status();
  (*stmt)->Bind(1, id);
  auto row = (*stmt)->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::nullopt;
  RecordRow record{id, (*stmt)->ColumnInt(0), (*stmt)->ColumnBlob(1)};
  (*stmt)->Reset();
  return record;
}

absl::StatusOr<std::vector<std::string>> SqliteCooperationStore::Existing(
    const std::vector<std::string>& ids) {
  absl::MutexLock lock(&read_mu_);
  auto stmt = reader_->Prepare("SELECT 1 FROM records WHERE id = ?1");
  if (!stmt.ok()) return stmt.status();
  std::vector<std::string> existing;
  for (const auto& id : ids) {
    (*stmt)->Bind(1, id);
    auto row = (*stmt)->Step();
    if (!row.ok()) return row.status();
    if (*row) existing.push_back(id);
    (*stmt)->Reset();
  }
  return existing;
}

absl::StatusOr<std::vector<RecordRow>> SqliteCooperationStore::Scan(
    const std::string& after_id, int limit) {
  absl::MutexLock lock(&read_mu_);
  auto stmt = reader_->Prepare(
      "SELECT id, revision, data FROM records WHERE id > ?1 ORDER BY id "
      "LIMIT ?2");
  if (!stmt.ok()) return stmt.status();
  (*stmt)->Bind(1, after_id).Bind(2, static_cast<int64_t>(limit));
  std::vector<RecordRow> rows;
  while (true) {
    auto row = (*stmt)->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    rows.push_back(RecordRow{(*stmt)->ColumnText(0), (*stmt)->ColumnInt(1),
                             (*stmt)->ColumnBlob(2)});
  }
  return rows;
}

absl::StatusOr<int64_t> SqliteCooperationStore::Count() {
  absl::MutexLock lock(&read_mu_);
  auto stmt = reader_->Prepare("SELECT COUNT(*) FROM records");
  if (!stmt.ok()) return stmt.status();
  auto row = (*stmt)->Step();
  if (!row.ok()) return row.status();
  const int64_t count = (*stmt)->ColumnInt(0);
  (*stmt)->Reset();
  return count;
}

absl::StatusOr<std::vector<ChangeRow>> SqliteCooperationStore::ChangesAfter(
    int64_t after_revision, int max_changes, size_t max_bytes) {
  absl::MutexLock lock(&read_mu_);
  // Whole revisions: everything up to the revision of the max_changes-th
  // change after `after_revision`.
  auto last = reader_->Prepare(
      "SELECT revision FROM changes WHERE revision > ?1 ORDER BY revision, "
      "seq LIMIT 1 OFFSET ?2");
  if (!last.ok()) return last.status();
  (*last)
      ->Bind(1, after_revision)
      .Bind(2, static_cast<int64_t>(max_changes > 0 ? max_changes - 1 : 0));
  auto found = (*last)->Step();
  if (!found.ok()) return found.status();
  const int64_t through =
      *found ? (*last)->ColumnInt(0) : std::numeric_limits<int64_t>::max();
  (*last)->Reset();

  auto stmt = reader_->Prepare(
      "SELECT revision, type, id, commit_time_micros, data FROM changes "
      "WHERE revision > ?1 AND revision <= ?2 ORDER BY revision, seq");
  if (!stmt.ok()) return stmt.status();
  (*stmt)->Bind(1, after_revision).Bind(2, through);
  std::vector<ChangeRow> changes;
  RevisionBatchBudget budget(max_bytes);
  while (true) {
    auto row = (*stmt)->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    ChangeRow change;
    change.revision = (*stmt)->ColumnInt(0);
    change.type = static_cast<ChangeKind>((*stmt)->ColumnInt(1));
    change.id = (*stmt)->ColumnText(2);
    change.commit_time_micros = (*stmt)->ColumnInt(3);
    change.data = (*stmt)->ColumnBlob(4);
    // The record's bytes, plus a little for the change's other fields.
    constexpr size_t kChangeOverhead = 32;
    if (!budget.Offer(change.revision, change.data.size() + kChangeOverhead)) {
      break;
    }
    changes.push_back(std::move(change));
  }
  (*stmt)->Reset();
  changes.resize(budget.kept());
  return changes;
}

absl::StatusOr<std::optional<StoredRequest>>
SqliteCooperationStore::FindRequest(const std::string& request_id) {
  absl::MutexLock lock(&read_mu_);
  auto stmt = reader_->Prepare(
      "SELECT fingerprint, revision, response FROM requests WHERE "
      "request_id = ?1");
  if (!stmt.ok()) return stmt.status();
  (*stmt)->Bind(1, request_id);
  auto row = (*stmt)->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::nullopt;
  StoredRequest request;
  request.request_id = request_id;
  request.fingerprint = static_cast<uint64_t>((*stmt)->ColumnInt(0));
  request.revision = (*stmt)->ColumnInt(1);
  request.response = (*stmt)->ColumnBlob(2);
  (*stmt)->Reset();
  return request;
}

absl::Status SqliteCooperationStore::Commit(const CommitBatch& batch) {
  absl::MutexLock lock(&write_mu_);
  auto txn = sqlite::Transaction::Begin(writer_.get());
  if (!txn.ok()) return txn.status();
  auto current = MetaValue(writer_.get(), "revision");
  if (!current.ok()) return current.status();
  if (batch.revision != *current + 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("commit at revision ", batch.revision,
                     " but the store is at revision ", *current));
  }
  // The events go first: a change refused below (a created record that
  // exists) rolls them back with everything else.
  if (auto status = audit::Append(writer_.get(), batch.audit); !status.ok()) {
    return status;
  }

  auto upsert = writer_->Prepare(
      "INSERT INTO records (id, revision, data) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (id) DO UPDATE SET revision = excluded.revision, "
      "data = excluded.data");
  if (!upsert.ok()) return upsert.status();
  // A created record must not exist yet: its insert fails on the primary
  // key (ALREADY_EXISTS) and the whole batch with it.
  auto create = writer_->Prepare(
      "INSERT INTO records (id, revision, data) VALUES (?1, ?2, ?3)");
  if (!create.ok()) return create.status();
  auto remove = writer_->Prepare("DELETE FROM records WHERE id = ?1");
  if (!remove.ok()) return remove.status();
  auto log = writer_->Prepare(
      "INSERT INTO changes (revision, seq, type, id, commit_time_micros, "
      "data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!log.ok()) return log.status();

  int64_t seq = 0;
  for (const ChangeRow& change : batch.changes) {
    if (change.type == ChangeKind::kDeleted) {
      (*remove)->Bind(1, change.id);
      if (auto status = (*remove)->Run(); !status.ok()) return status;
    } else {
      sqlite::Statement* write =
          change.type == ChangeKind::kCreated ? *create : *upsert;
      // The batch outlives every statement run here: no copies.
      write->BindTextUnowned(1, change.id)
          .Bind(2, batch.revision)
          .BindBlobUnowned(3, change.data);
      if (auto status = write->Run(); !status.ok()) return status;
    }
    (*log)
        ->Bind(1, batch.revision)
        .Bind(2, seq++)
        .Bind(3, static_cast<int64_t>(change.type))
        .BindTextUnowned(4, change.id)
        .Bind(5, change.commit_time_micros)
        .BindBlobUnowned(6, change.data);
    if (auto status = (*log)->Run(); !status.ok()) return status;
  }

  if (batch.request.has_value()) {
    auto remember = writer_->Prepare(
        "INSERT INTO requests (request_id, fingerprint, revision, response) "
        "VALUES (?1, ?2, ?3, ?4)");
    if (!remember.ok()) return remember.status();
    (*remember)
        ->Bind(1, batch.request->request_id)
        .Bind(2, static_cast<int64_t>(batch.request->fingerprint))
        .Bind(3, batch.revision)
        .BindBlob(4, batch.request->response);
    if (auto status = (*remember)->Run(); !status.ok()) return status;
  }

  auto set_meta = writer_->Prepare("UPDATE meta SET value = ?2 WHERE key = ?1");
  if (!set_meta.ok()) return set_meta.status();
  (*set_meta)->Bind(1, "revision").Bind(2, batch.revision);
  if (auto status = (*set_meta)->Run(); !status.ok()) return status;
  if (batch.compact_through > 0) {
    for (const char* sql : {"DELETE FROM changes WHERE revision <= ?1",
                            "DELETE FROM requests WHERE revision <= ?1"}) {
      auto compact = writer_->Prepare(sql);
      if (!compact.ok()) return compact.status();
      (*compact)->Bind(1, batch.compact_through);
      if (auto status = (*compact)->Run(); !status.ok()) return status;
    }
    (*set_meta)->Bind(1, "compacted_revision").Bind(2, batch.compact_through);
    if (auto status = (*set_meta)->Run(); !status.ok()) return status;
  }
  if (batch.audit_expired_before_micros != 0) {
    auto pruned = audit::Prune(writer_.get(), batch.audit_expired_before_micros,
                               audit::kMaxPrunedPerCommit);
    if (!pruned.ok()) return pruned.status();
  }
  return (*txn)->Commit();
}

absl::StatusOr<std::vector<audit::Event>> SqliteCooperationStore::ReadAudit(
    const audit::Query& query) {
  absl::MutexLock lock(&read_mu_);
  return audit::Read(reader_.get(), query);
}

absl::StatusOr<int> SqliteCooperationStore::PruneAudit(int64_t before_micros,
                                                       int limit) {
  absl::MutexLock lock(&write_mu_);
  auto txn = sqlite::Transaction::Begin(writer_.get());
  if (!txn.ok()) return txn.status();
  auto pruned = audit::Prune(writer_.get(), before_micros, limit);
  if (!pruned.ok()) return pruned.status();
  if (auto status = (*txn)->Commit(); !status.ok()) return status;
  return *pruned;
}

}  // namespace thb::cooperation

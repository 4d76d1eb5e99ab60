#ifndef THB_COMMON_SQLITE_H_
#define THB_COMMON_SQLITE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

struct sqlite3;
struct sqlite3_stmt;

namespace thb::sqlite {

// A prepared statement owned by its Database and reused across calls: Prepare
// returns the cached one, reset and with its bindings cleared.
class Statement {
 public:
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Bind by 1-based index. Text and blobs are copied.
  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, std::string_view text);
  Statement& BindBlob(int index, std::string_view bytes);
  // Not copied: the bytes must stay valid while the statement runs with
  // them. For large values written in a loop.
  Statement& BindTextUnowned(int index, std::string_view text);
  Statement& BindBlobUnowned(int index, std::string_view bytes);
  Statement& BindNull(int index);

  // Advances: true when a row is available, false when done.
  absl::StatusOr<bool> Step();
  // Runs to completion, ignoring rows (for writes).
  absl::Status Run();

  int64_t ColumnInt(int index) const;
  std::string ColumnText(int index) const;
  std::string ColumnBlob(int index) const;
  bool ColumnIsNull(int index) const;

  // Rows changed by the last completed write statement.
  int Changes() const;

  // Rewinds for another execution with new bindings (bindings are cleared).
  void Reset();

 private:
  friend class Database;
  Statement(sqlite3* db, sqlite3_stmt* stmt, std::string sql);
  void CheckBind(int rc, int index);
  // `lifetime` is SQLITE_TRANSIENT (copied) or SQLITE_STATIC (not).
  Statement& BindBytes(int index, std::string_view bytes, bool text,
                       void (*lifetime)(void*));

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  std::string sql_;
  // Bind returns *this for chaining, so its first failure waits here and is
  // reported by the next Step.
  absl::Status bind_status_;
};

struct Options {
  // WAL journal; with synchronous=FULL a commit is on disk when it returns.
  bool wal = true;
  // How long a writer waits on another connection's lock.
  absl::Duration busy_timeout = absl::Seconds(5);
  // Most memory the connection's page cache may take, in KiB; 0 keeps
  // SQLite's default (2 MiB).
  int64_t cache_kib = 0;
};

// One SQLite connection. Not thread-safe: callers serialize access (the
// stores hold a mutex around every use).
class Database {
 public:
  // Opens or creates `path` and applies the pragmas (journal_mode=WAL,
  // synchronous=FULL, foreign_keys=ON, busy_timeout).
  static absl::StatusOr<std::unique_ptr<Database>> Open(
      const std::string& path, const Options& options = {});
  ~Database();

  // Brings the schema to migrations.size(): runs migrations[v..] in one
  // transaction each, recording the version in PRAGMA user_version. A
  // database newer than the migrations known is FAILED_PRECONDITION.
  absl::Status Migrate(const std::vector<std::string>& migrations);

  // Runs SQL text that returns no rows (may hold several statements).
  absl::Status Exec(std::string_view sql);

  // A cached prepared statement, reset, its bindings cleared. The pointer
  // stays valid for the Database's life; do not hold two live uses of the
  // same SQL at once.
  absl::StatusOr<Statement*> Prepare(std::string_view sql);

  int SchemaVersion();
  const std::string& path() const { return path_; }
  sqlite3* handle() { return db_; }

 private:
  Database(sqlite3* db, std::string path);

  sqlite3* db_;
  std::string path_;
  absl::flat_hash_map<std::string, std::unique_ptr<Statement>> statements_;
};

// BEGIN IMMEDIATE on construction; Commit() makes it durable; destruction
// without a successful Commit() rolls back. So an early `return status;`
// anywhere inside leaves nothing half written.
class Transaction {
 public:
  static absl::StatusOr<std::unique_ptr<Transaction>> Begin(Database* db);
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  absl::Status Commit();

 private:
  explicit Transaction(Database* db) : db_(db) {}
  Database* db_;
  bool done_ = false;
};

// Maps a SQLite result code to a canonical status: BUSY/LOCKED →
// UNAVAILABLE, CONSTRAINT → ALREADY_EXISTS (primary key, unique) or
// FAILED_PRECONDITION (the rest), FULL/IOERR → UNAVAILABLE, CORRUPT/NOTADB →
// DATA_LOSS, else INTERNAL. Message: "<what>: <sqlite message> (code N)".
absl::Status SqliteError(sqlite3* db, int code, std::string_view what);

}  // namespace thb::sqlite

#endif  // THB_COMMON_SQLITE_H_

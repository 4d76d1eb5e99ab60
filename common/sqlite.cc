#include "common/sqlite.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/string_view.h"

namespace thb::sqlite {
namespace {

// Migrations and queries span lines; an error message wants one short line.
std::string Abbreviate(std::string_view sql) {
  constexpr size_t kMaxLength = 120;
  std::string out;
  bool space = false;
  for (char c : absl::StripAsciiWhitespace(ToAbsl(sql))) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      space = true;
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
    if (out.size() >= kMaxLength) {
      out.append("...");
      break;
    }
  }
  return out;
}

std::string Executing(std::string_view sql) {
  return absl::StrCat("executing \"", Abbreviate(sql), "\"");
}

absl::Status Annotate(const absl::Status& status, std::string_view context) {
  if (status.ok()) return status;
  return absl::Status(status.code(),
                      absl::StrCat(ToAbsl(context), ": ", status.message()));
}

// Paths SQLite does not treat as a file in a directory.
bool IsSpecialPath(const std::string& path) {
  return path.empty() || path == ":memory:" || absl::StartsWith(path, "file:");
}

std::filesystem::path ParentDirectory(const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? std::filesystem::path(".") : parent;
}

// SQLite would only say "unable to open database file"; the caller needs to
// know it is the directory that is missing, which no retry will fix.
absl::Status CheckDirectory(const std::string& path) {
  const std::filesystem::path dir = ParentDirectory(path);
  std::error_code error;
  const std::filesystem::file_status status =
      std::filesystem::status(dir, error);
  if (status.type() == std::filesystem::file_type::not_found) {
    return absl::NotFoundError(absl::StrCat("cannot open database ", path,
                                            ": directory ", dir.string(),
                                            " does not exist"));
  }
  if (error) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open database ", path, ": directory ",
                     dir.string(), ": ", error.message()));
  }
  if (status.type() != std::filesystem::file_type::directory) {
    return absl::FailedPreconditionError(absl::StrCat("cannot open database ",
                                                      path, ": ", dir.string(),
                                                      " is not a directory"));
  }
  return absl::OkStatus();
}

// SQLite syncs the directory when it creates a journal or WAL file, but not
// when it creates the database file itself: without this, a power loss soon
// after creation can lose the file along with every commit in it.
absl::Status SyncDirectory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat(
        "opening directory ", dir.string(), " to sync it: ",
        std::error_code(errno, std::generic_category()).message()));
  }
  const int rc = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  // Some file systems cannot sync a directory and say so with EINVAL.
  if (rc != 0 && error != EINVAL) {
    return absl::UnavailableError(absl::StrCat(
        "syncing directory ", dir.string(), ": ",
        std::error_code(error, std::generic_category()).message()));
  }
  return absl::OkStatus();
}

// Runs a statement returning one value in its first row. Not cached: these
// run once per Open or Migrate step, and a cached statement left on a row
// would keep a read snapshot open.
absl::StatusOr<std::string> QueryText(sqlite3* db, const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db, rc, Executing(sql));
  rc = sqlite3_step(stmt);
  std::string value;
  if (rc == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(stmt, 0);
    if (text != nullptr) {
      value.assign(reinterpret_cast<const char*>(text),
                   sqlite3_column_bytes(stmt, 0));
    }
    rc = SQLITE_OK;
  } else if (rc == SQLITE_DONE) {
    rc = SQLITE_OK;
  }
  absl::Status status =
      rc == SQLITE_OK ? absl::OkStatus() : SqliteError(db, rc, Executing(sql));
  sqlite3_finalize(stmt);
  if (!status.ok()) return status;
  return value;
}

absl::StatusOr<int> ReadUserVersion(sqlite3* db) {
  absl::StatusOr<std::string> text = QueryText(db, "PRAGMA user_version");
  if (!text.ok()) return text.status();
  return std::atoi(text->c_str());
}

// Safe to call from destructors: no allocation that could throw, and only
// when a transaction is really open (SQLite rolls back by itself after some
// errors, such as SQLITE_FULL).
void RollbackIfActive(sqlite3* db) {
  if (sqlite3_get_autocommit(db) == 0) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

}  // namespace

absl::Status SqliteError(sqlite3* db, int code, std::string_view what) {
  const int primary = code & 0xff;
  int extended = code;
  const char* message = sqlite3_errstr(code);
  // The connection's message is more precise ("UNIQUE constraint failed:
  // t.id") but only if it describes this error and not an earlier one.
  if (db != nullptr && (sqlite3_errcode(db) & 0xff) == primary) {
    message = sqlite3_errmsg(db);
    if (extended == primary) extended = sqlite3_extended_errcode(db);
  }
  const std::string text =
      absl::StrCat(ToAbsl(what), ": ", message, " (code ", extended, ")");
  switch (primary) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(text);
    case SQLITE_CONSTRAINT:
      if (extended == SQLITE_CONSTRAINT_PRIMARYKEY ||
          extended == SQLITE_CONSTRAINT_UNIQUE ||
          extended == SQLITE_CONSTRAINT_ROWID) {
        return absl::AlreadyExistsError(text);
      }
      return absl::FailedPreconditionError(text);
    case SQLITE_FULL:
    case SQLITE_IOERR:
      return absl::UnavailableError(text);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(text);
    default:
      return absl::InternalError(text);
  }
}

// --- Statement ---

Statement::Statement(sqlite3* db, sqlite3_stmt* stmt, std::string sql)
    : db_(db), stmt_(stmt), sql_(std::move(sql)) {}

Statement::~Statement() { sqlite3_finalize(stmt_); }

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_status_ = absl::OkStatus();
}

void Statement::CheckBind(int rc, int index) {
  if (rc == SQLITE_OK || !bind_status_.ok()) return;
  bind_status_ = SqliteError(
      db_, rc,
      absl::StrCat("binding parameter ", index, " of ", Executing(sql_)));
}

Statement& Statement::Bind(int index, int64_t value) {
  CheckBind(sqlite3_bind_int64(stmt_, index, value), index);
  return *this;
}

Statement& Statement::Bind(int index, std::string_view text) {
  return BindBytes(index, text, /*text=*/true, SQLITE_TRANSIENT);
}

Statement& Statement::BindBlob(int index, std::string_view bytes) {
  return BindBytes(index, bytes, /*text=*/false, SQLITE_TRANSIENT);
}

Statement& Statement::BindTextUnowned(int index, std::string_view text) {
  return BindBytes(index, text, /*text=*/true, SQLITE_STATIC);
}

Statement& Statement::BindBlobUnowned(int index, std::string_view bytes) {
  return BindBytes(index, bytes, /*text=*/false, SQLITE_STATIC);
}

Statement& Statement::BindBytes(int index, std::string_view bytes, bool text,
                                void (*lifetime)(void*)) {
  // A null pointer would bind NULL, not the empty string.
  const char* data = bytes.data() != nullptr ? bytes.data() : "";
  CheckBind(
      text ? sqlite3_bind_text64(stmt_, index, data, bytes.size(), lifetime,
                                 SQLITE_UTF8)
           : sqlite3_bind_blob64(stmt_, index, data, bytes.size(), lifetime),
      index);
  return *this;
}

Statement& Statement::BindNull(int index) {
  CheckBind(sqlite3_bind_null(stmt_, index), index);
  return *this;
}

absl::StatusOr<bool> Statement::Step() {
  if (!bind_status_.ok()) return bind_status_;
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  // Resetting at once releases the statement's hold on the database (a
  // finished or failed statement can otherwise pin a read snapshot until
  // its next use); bindings stay, so Step can be called again to rerun.
  if (rc == SQLITE_DONE) {
    sqlite3_reset(stmt_);
    return false;
  }
  absl::Status status = SqliteError(db_, rc, Executing(sql_));
  sqlite3_reset(stmt_);
  return status;
}

absl::Status Statement::Run() {
  while (true) {
    absl::StatusOr<bool> row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
  }
}

int64_t Statement::ColumnInt(int index) const {
  return sqlite3_column_int64(stmt_, index);
}

std::string Statement::ColumnText(int index) const {
  // The pointer first, then the size: the conversion may change the size.
  const unsigned char* text = sqlite3_column_text(stmt_, index);
  if (text == nullptr) return std::string();
  return std::string(reinterpret_cast<const char*>(text),
                     sqlite3_column_bytes(stmt_, index));
}

std::string Statement::ColumnBlob(int index) const {
  const void* blob = sqlite3_column_blob(stmt_, index);
  if (blob == nullptr) return std::string();
  return std::string(static_cast<const char*>(blob),
                     sqlite3_column_bytes(stmt_, index));
}

bool Statement::ColumnIsNull(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

int Statement::Changes() const { return sqlite3_changes(db_); }

// --- Database ---

Database::Database(sqlite3* db, std::string path)
    : db_(db), path_(std::move(path)) {}

Database::~Database() {
  // Statements first: a connection with unfinalized statements stays open.
  statements_.clear();
  sqlite3_close_v2(db_);
}

absl::StatusOr<std::unique_ptr<Database>> Database::Open(
    const std::string& path, const Options& options) {
  bool created = false;
  if (!IsSpecialPath(path)) {
    if (absl::Status status = CheckDirectory(path); !status.ok()) {
      return status;
    }
    std::error_code error;
    created = !std::filesystem::exists(path, error) && !error;
  }

  sqlite3* handle = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &handle,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
      nullptr);
  if (rc != SQLITE_OK) {
    absl::Status status =
        SqliteError(handle, rc, absl::StrCat("opening ", path));
    sqlite3_close_v2(handle);
    // The directory exists (checked above), so this is a permission or
    // file-type problem that needs an operator, not a retry.
    if ((rc & 0xff) == SQLITE_CANTOPEN) {
      return absl::FailedPreconditionError(status.message());
    }
    return status;
  }
  // Owns the handle from here, so every early return closes it.
  std::unique_ptr<Database> db(new Database(handle, path));
  sqlite3_extended_result_codes(handle, 1);

  const int64_t timeout_ms = std::clamp<int64_t>(
      absl::ToInt64Milliseconds(options.busy_timeout), 0, INT_MAX);
  sqlite3_busy_timeout(handle, static_cast<int>(timeout_ms));

  if (options.wal) {
    absl::StatusOr<std::string> mode =
        QueryText(handle, "PRAGMA journal_mode=WAL");
    if (!mode.ok()) return Annotate(mode.status(), path);
    // SQLite answers with the mode it kept when it cannot switch (an
    // in-memory database stays "memory"); running without WAL would silently
    // change both concurrency and durability.
    if (!absl::EqualsIgnoreCase(*mode, "wal")) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot use WAL journal for ", path,
                       ": journal_mode is \"", *mode, "\""));
    }
  }
  if (absl::Status status = db->Exec("PRAGMA synchronous=FULL"); !status.ok()) {
    return Annotate(status, path);
  }
  if (absl::Status status = db->Exec("PRAGMA foreign_keys=ON"); !status.ok()) {
    return Annotate(status, path);
  }
  if (options.cache_kib > 0) {
    // A negative size is in KiB, a positive one in pages.
    if (absl::Status status =
            db->Exec(absl::StrCat("PRAGMA cache_size=-", options.cache_kib));
        !status.ok()) {
      return Annotate(status, path);
    }
  }
  if (created) {
    if (absl::Status status = SyncDirectory(ParentDirectory(path));
        !status.ok()) {
      return Annotate(status, path);
    }
  }
  return db;
}

absl::Status Database::Exec(std::string_view sql) {
  const std::string text(sql);
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, Executing(sql));
  return absl::OkStatus();
}

absl::StatusOr<Statement*> Database::Prepare(std::string_view sql) {
  if (auto it = statements_.find(ToAbsl(sql)); it != statements_.end()) {
    it->second->Reset();
    return it->second.get();
  }
  sqlite3_stmt* stmt = nullptr;
  const char* tail = nullptr;
  const int rc =
      sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                         SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
  if (rc != SQLITE_OK) {
    return SqliteError(
        db_, rc,
        absl::StrCat("preparing \"", Abbreviate(sql), "\" on ", path_));
  }
  if (stmt == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("preparing \"", Abbreviate(sql), "\": no statement"));
  }
  auto statement =
      std::unique_ptr<Statement>(new Statement(db_, stmt, std::string(sql)));
  // Only the first statement would ever run; refuse the rest rather than
  // drop it silently. Comments and whitespace prepare to nothing.
  const std::string_view rest =
      sql.substr(static_cast<size_t>(tail - sql.data()));
  if (!absl::StripAsciiWhitespace(ToAbsl(rest)).empty()) {
    sqlite3_stmt* next = nullptr;
    const int next_rc = sqlite3_prepare_v2(
        db_, rest.data(), static_cast<int>(rest.size()), &next, nullptr);
    sqlite3_finalize(next);
    if (next_rc != SQLITE_OK || next != nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("preparing \"", Abbreviate(sql),
                       "\": holds more than one statement"));
    }
  }
  Statement* result = statement.get();
  statements_.emplace(std::string(sql), std::move(statement));
  return result;
}

int Database::SchemaVersion() {
  absl::StatusOr<int> version = ReadUserVersion(db_);
  return version.ok() ? *version : -1;
}

absl::Status Database::Migrate(const std::vector<std::string>& migrations) {
  const int target = static_cast<int>(migrations.size());
  while (true) {
    // The version is read inside the write transaction, so two processes
    // migrating the same file at once never apply a migration twice.
    absl::StatusOr<std::unique_ptr<Transaction>> transaction =
        Transaction::Begin(this);
    if (!transaction.ok()) {
      return Annotate(transaction.status(), absl::StrCat("migrating ", path_));
    }
    absl::StatusOr<int> version = ReadUserVersion(db_);
    if (!version.ok()) {
      return Annotate(version.status(), absl::StrCat("migrating ", path_));
    }
    if (*version > target) {
      return absl::FailedPreconditionError(absl::StrCat(
          "database ", path_, " has schema version ", *version,
          ", newer than the ", target, " migrations this program knows"));
    }
    if (*version == target) return (*transaction)->Commit();

    const int next = *version + 1;
    const std::string context = absl::StrCat("migration ", next, " of ", path_);
    if (absl::Status status = Exec(migrations[*version]); !status.ok()) {
      return Annotate(status, context);
    }
    if (absl::Status status = Exec(absl::StrCat("PRAGMA user_version=", next));
        !status.ok()) {
      return Annotate(status, context);
    }
    if (absl::Status status = (*transaction)->Commit(); !status.ok()) {
      return Annotate(status, context);
    }
  }
}

// --- Transaction ---

absl::StatusOr<std::unique_ptr<Transaction>> Transaction::Begin(Database* db) {
  // IMMEDIATE takes the write lock now, under the busy timeout; a deferred
  // transaction that reads first can fail with SQLITE_BUSY at its first
  // write, when waiting no longer helps.
  if (absl::Status status = db->Exec("BEGIN IMMEDIATE"); !status.ok()) {
    return status;
  }
  return std::unique_ptr<Transaction>(new Transaction(db));
}

Transaction::~Transaction() {
  if (!done_) RollbackIfActive(db_->handle());
}

absl::Status Transaction::Commit() {
  if (done_) {
    return absl::FailedPreconditionError(
        absl::StrCat("transaction on ", db_->path(), " already finished"));
  }
  done_ = true;
  absl::Status status = db_->Exec("COMMIT");
  // A failed COMMIT (a deferred foreign key, SQLITE_BUSY) can leave the
  // transaction open; the caller expects all or nothing, so make it nothing.
  if (!status.ok()) RollbackIfActive(db_->handle());
  return status;
}

}  // namespace thb::sqlite

#include "common/sqlite.h"

#include <signal.h>
#include <sqlite3.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace thb::sqlite {
namespace {

using ::testing::HasSubstr;

class SqliteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "sqlite_test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::string PathOf(const std::string& name) const {
    return (dir_ / name).string();
  }

  std::unique_ptr<Database> OpenOrDie(const std::string& path,
                                      const Options& options = {}) {
    absl::StatusOr<std::unique_ptr<Database>> db =
        Database::Open(path, options);
    EXPECT_TRUE(db.ok()) << db.status();
    return db.ok() ? std::move(*db) : nullptr;
  }

  std::filesystem::path dir_;
};

// The single value of a one-row query; consumes the row so that the cached
// statement holds no read snapshot afterwards.
template <typename T>
T QueryOne(Database& db, std::string_view sql) {
  absl::StatusOr<Statement*> statement = db.Prepare(sql);
  EXPECT_TRUE(statement.ok()) << statement.status();
  if (!statement.ok()) return T();
  absl::StatusOr<bool> row = (*statement)->Step();
  EXPECT_TRUE(row.ok() && *row) << sql << ": " << row.status();
  if (!row.ok() || !*row) return T();
  T value;
  if constexpr (std::is_same_v<T, std::string>) {
    value = (*statement)->ColumnText(0);
  } else {
    value = (*statement)->ColumnInt(0);
  }
  absl::StatusOr<bool> end = (*statement)->Step();
  EXPECT_TRUE(end.ok() && !*end) << sql << " returned more than one row";
  return value;
}

int64_t CountRows(Database& db, std::string_view table) {
  return QueryOne<int64_t>(
      db, std::string("SELECT COUNT(*) FROM ") + std::string(table));
}

absl::Status Insert(Database& db, std::string_view sql, int64_t value) {
  absl::StatusOr<Statement*> statement = db.Prepare(sql);
  if (!statement.ok()) return statement.status();
  return (*statement)->Bind(1, value).Run();
}

TEST_F(SqliteTest, OpenAppliesPragmas) {
  Options options;
  options.busy_timeout = absl::Milliseconds(1234);
  std::unique_ptr<Database> db = OpenOrDie(PathOf("a.db"), options);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(QueryOne<std::string>(*db, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(QueryOne<int64_t>(*db, "PRAGMA synchronous"), 2);  // FULL
  EXPECT_EQ(QueryOne<int64_t>(*db, "PRAGMA foreign_keys"), 1);
  EXPECT_EQ(QueryOne<int64_t>(*db, "PRAGMA busy_timeout"), 1234);
  EXPECT_EQ(db->path(), PathOf("a.db"));
  EXPECT_TRUE(std::filesystem::exists(PathOf("a.db")));
}

TEST_F(SqliteTest, OpenSetsTheCacheSizeAskedFor) {
  EXPECT_EQ(
      QueryOne<int64_t>(*OpenOrDie(PathOf("default.db")), "PRAGMA cache_size"),
      -2000);
  Options options;
  options.cache_kib = 65536;
  EXPECT_EQ(QueryOne<int64_t>(*OpenOrDie(PathOf("large.db"), options),
                              "PRAGMA cache_size"),
            -65536);
}

TEST_F(SqliteTest, OpenInMissingDirectoryIsNotFound) {
  const std::string path = PathOf("missing/a.db");
  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(path);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), absl::StatusCode::kNotFound) << db.status();
  EXPECT_THAT(db.status().message(), HasSubstr(path));
  EXPECT_FALSE(std::filesystem::exists(PathOf("missing")));
}

TEST_F(SqliteTest, OpenUnderAFileIsFailedPrecondition) {
  std::ofstream(PathOf("file")) << "not a directory";
  const std::string path = PathOf("file/a.db");
  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(path);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), absl::StatusCode::kFailedPrecondition)
      << db.status();
  EXPECT_THAT(db.status().message(), HasSubstr(path));
}

TEST_F(SqliteTest, OpenGarbageIsDataLoss) {
  const std::string path = PathOf("garbage.db");
  std::ofstream(path) << std::string(4096, 'x');
  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(path);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), absl::StatusCode::kDataLoss) << db.status();
  EXPECT_THAT(db.status().message(), HasSubstr(path));
}

TEST_F(SqliteTest, InMemoryNeedsWalOff) {
  absl::StatusOr<std::unique_ptr<Database>> wal = Database::Open(":memory:");
  ASSERT_FALSE(wal.ok());
  EXPECT_EQ(wal.status().code(), absl::StatusCode::kFailedPrecondition);

  Options options;
  options.wal = false;
  std::unique_ptr<Database> db = OpenOrDie(":memory:", options);
  ASSERT_NE(db, nullptr);
  EXPECT_TRUE(db->Exec("CREATE TABLE t(x)").ok());
}

TEST_F(SqliteTest, MigrationsApplyOnceAndAreIdempotentOnReopen) {
  const std::string path = PathOf("m.db");
  std::vector<std::string> migrations = {
      "CREATE TABLE t(x INTEGER);",
      "INSERT INTO t VALUES (1);",
  };
  {
    std::unique_ptr<Database> db = OpenOrDie(path);
    ASSERT_NE(db, nullptr);
    EXPECT_EQ(db->SchemaVersion(), 0);
    ASSERT_TRUE(db->Migrate(migrations).ok());
    EXPECT_EQ(db->SchemaVersion(), 2);
    ASSERT_TRUE(db->Migrate(migrations).ok());
    EXPECT_EQ(CountRows(*db, "t"), 1);
  }
  {
    std::unique_ptr<Database> db = OpenOrDie(path);
    ASSERT_NE(db, nullptr);
    EXPECT_EQ(db->SchemaVersion(), 2);
    ASSERT_TRUE(db->Migrate(migrations).ok());
    EXPECT_EQ(CountRows(*db, "t"), 1);

    migrations.push_back("INSERT INTO t VALUES (2);");
    ASSERT_TRUE(db->Migrate(migrations).ok());
    EXPECT_EQ(db->SchemaVersion(), 3);
    EXPECT_EQ(CountRows(*db, "t"), 2);
  }
}

TEST_F(SqliteTest, NewerSchemaIsRefused) {
  const std::string path = PathOf("newer.db");
  {
    std::unique_ptr<Database> db = OpenOrDie(path);
    ASSERT_NE(db, nullptr);
    ASSERT_TRUE(db->Migrate({"CREATE TABLE a(x);", "CREATE TABLE b(x);"}).ok());
  }
  std::unique_ptr<Database> db = OpenOrDie(path);
  ASSERT_NE(db, nullptr);
  absl::Status status = db->Migrate({"CREATE TABLE a(x);"});
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_THAT(status.message(), HasSubstr(path));
  EXPECT_EQ(db->SchemaVersion(), 2);
}

TEST_F(SqliteTest, FailedMigrationLeavesNothingBehind) {
  std::unique_ptr<Database> db = OpenOrDie(PathOf("failed.db"));
  ASSERT_NE(db, nullptr);
  absl::Status status = db->Migrate({
      "CREATE TABLE a(x);",
      "CREATE TABLE b(x); INSERT INTO no_such_table VALUES (1);",
  });
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("migration 2"));
  EXPECT_EQ(db->SchemaVersion(), 1);
  EXPECT_EQ(QueryOne<int64_t>(
                *db, "SELECT COUNT(*) FROM sqlite_schema WHERE name = 'b'"),
            0);
}

TEST_F(SqliteTest, PrepareCachesAndRebinds) {
  std::unique_ptr<Database> db = OpenOrDie(PathOf("p.db"));
  ASSERT_NE(db, nullptr);
  constexpr std::string_view kSql = "SELECT ?1 + 1, ?1 IS NULL";

  absl::StatusOr<Statement*> first = db->Prepare(kSql);
  ASSERT_TRUE(first.ok()) << first.status();
  (*first)->Bind(1, int64_t{41});
  ASSERT_TRUE(*(*first)->Step());
  EXPECT_EQ((*first)->ColumnInt(0), 42);

  // Mid-row on purpose: Prepare must reset it.
  absl::StatusOr<Statement*> second = db->Prepare(kSql);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(*second, *first);
  (*second)->Bind(1, int64_t{99});
  ASSERT_TRUE(*(*second)->Step());
  EXPECT_EQ((*second)->ColumnInt(0), 100);

  absl::StatusOr<Statement*> unbound = db->Prepare(kSql);
  ASSERT_TRUE(unbound.ok());
  ASSERT_TRUE(*(*unbound)->Step());
  EXPECT_EQ((*unbound)->ColumnInt(1), 1) << "bindings were not cleared";
}

TEST_F(SqliteTest, PrepareRefusesSeveralStatements) {
  std::unique_ptr<Database> db = OpenOrDie(PathOf("several.db"));
  ASSERT_NE(db, nullptr);
  absl::StatusOr<Statement*> two = db->Prepare("SELECT 1; SELECT 2");
  EXPECT_EQ(two.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(db->Prepare("SELECT 1; -- trailing comment\n").ok());
  absl::StatusOr<Statement*> bad = db->Prepare("SELEKT 1");
  EXPECT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("SELEKT 1"));
}

TEST_F(SqliteTest, BindErrorIsReportedByStep) {
  std::unique_ptr<Database> db = OpenOrDie(PathOf("bind.db"));
  ASSERT_NE(db, nullptr);
  absl::StatusOr<Statement*> statement = db->Prepare("SELECT ?");
  ASSERT_TRUE(statement.ok());
  absl::StatusOr<bool> row = (*statement)->Bind(2, int64_t{1}).Step();
  ASSERT_FALSE(row.ok());
  EXPECT_THAT(row.status().message(), HasSubstr("parameter 2"));
  // A fresh use starts clean.
  statement = db->Prepare("SELECT ?");
  ASSERT_TRUE(statement.ok());
  EXPECT_TRUE((*statement)->Bind(1, int64_t{1}).Step().ok());
}

TEST_F(SqliteTest, ColumnsRoundTrip) {
  std::unique_ptr<Database> db = OpenOrDie(PathOf("columns.db"));
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Exec("CREATE TABLE c(i, t, b, n, e)").ok());
  const std::string blob("a\0b\xff", 4);
  absl::StatusOr<Statement*> insert =
      db->Prepare("INSERT INTO c VALUES (?, ?, ?, ?, ?)");
  ASSERT_TRUE(insert.ok());
  ASSERT_TRUE((*insert)
                  ->Bind(1, int64_t{1} << 40)
                  .Bind(2, "héllo")
                  .BindBlob(3, blob)
                  .BindNull(4)
                  .Bind(5, std::string_view())
                  .Run()
                  .ok());
  EXPECT_EQ((*insert)->Changes(), 1);

  absl::StatusOr<Statement*> select = db->Prepare("SELECT * FROM c");
  ASSERT_TRUE(select.ok());
  ASSERT_TRUE(*(*select)->Step());
  EXPECT_EQ((*select)->ColumnInt(0), int64_t{1} << 40);
  EXPECT_EQ((*select)->ColumnText(1), "héllo");
  EXPECT_EQ((*select)->ColumnBlob(2), blob);
  EXPECT_TRUE((*select)->ColumnIsNull(3));
  EXPECT_EQ((*select)->ColumnText(3), "");
  // The empty string is a value, not NULL.
  EXPECT_FALSE((*select)->ColumnIsNull(4));
  EXPECT_EQ((*select)->ColumnText(4), "");
  EXPECT_FALSE(*(*select)->Step());
}

TEST_F(SqliteTest, UnownedBindingsRoundTrip) {
  std::unique_ptr<Database> db = OpenOrDie(PathOf("unowned.db"));
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Exec("CREATE TABLE u(t, b)").ok());
  absl::StatusOr<Statement*> insert =
      db->Prepare("INSERT INTO u VALUES (?, ?)");
  ASSERT_TRUE(insert.ok());
  for (const std::string& text :
       {std::string("first"), std::string(300, 'x')}) {
    const std::string blob = text + std::string("\0\xff", 2);
    ASSERT_TRUE((*insert)
                    ->BindTextUnowned(1, text)
                    .BindBlobUnowned(2, blob)
                    .Run()
                    .ok());
  }
  ASSERT_TRUE(
      (*insert)->BindTextUnowned(1, std::string_view()).BindNull(2).Run().ok());

  absl::StatusOr<Statement*> select =
      db->Prepare("SELECT t, b FROM u ORDER BY rowid");
  ASSERT_TRUE(select.ok());
  ASSERT_TRUE(*(*select)->Step());
  EXPECT_EQ((*select)->ColumnText(0), "first");
  EXPECT_EQ((*select)->ColumnBlob(1), std::string("first\0\xff", 7));
  ASSERT_TRUE(*(*select)->Step());
  EXPECT_EQ((*select)->ColumnText(0), std::string(300, 'x'));
  ASSERT_TRUE(*(*select)->Step());
  EXPECT_FALSE((*select)->ColumnIsNull(0));
  EXPECT_EQ((*select)->ColumnText(0), "");
  EXPECT_FALSE(*(*select)->Step());
}

TEST_F(SqliteTest, CommittedTransactionPersistsAcrossReopen) {
  const std::string path = PathOf("commit.db");
  {
    std::unique_ptr<Database> db = OpenOrDie(path);
    ASSERT_NE(db, nullptr);
    ASSERT_TRUE(db->Migrate({"CREATE TABLE t(x INTEGER PRIMARY KEY);"}).ok());
    absl::StatusOr<std::unique_ptr<Transaction>> transaction =
        Transaction::Begin(db.get());
    ASSERT_TRUE(transaction.ok()) << transaction.status();
    for (int64_t i = 0; i < 10; ++i) {
      ASSERT_TRUE(Insert(*db, "INSERT INTO t VALUES (?)", i).ok());
    }
    ASSERT_TRUE((*transaction)->Commit().ok());
    EXPECT_EQ((*transaction)->Commit().code(),
              absl::StatusCode::kFailedPrecondition);
  }
  std::unique_ptr<Database> db = OpenOrDie(path);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(CountRows(*db, "t"), 10);
}

TEST_F(SqliteTest, TransactionWithoutCommitRollsBack) {
  const std::string path = PathOf("rollback.db");
  {
    std::unique_ptr<Database> db = OpenOrDie(path);
    ASSERT_NE(db, nullptr);
    ASSERT_TRUE(db->Migrate({"CREATE TABLE t(x INTEGER PRIMARY KEY);"}).ok());
    {
      absl::StatusOr<std::unique_ptr<Transaction>> transaction =
          Transaction::Begin(db.get());
      ASSERT_TRUE(transaction.ok());
      ASSERT_TRUE(Insert(*db, "INSERT INTO t VALUES (?)", 1).ok());
      EXPECT_EQ(CountRows(*db, "t"), 1);
    }
    EXPECT_EQ(CountRows(*db, "t"), 0);
    EXPECT_NE(sqlite3_get_autocommit(db->handle()), 0);
  }
  std::unique_ptr<Database> db = OpenOrDie(path);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(CountRows(*db, "t"), 0);
}

TEST_F(SqliteTest, FailedCommitRollsBack) {
  std::unique_ptr<Database> db = OpenOrDie(PathOf("deferred.db"));
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(
      db->Migrate({"CREATE TABLE parent(id INTEGER PRIMARY KEY);"
                   "CREATE TABLE child(parent_id INTEGER REFERENCES parent(id)"
                   " DEFERRABLE INITIALLY DEFERRED);"})
          .ok());
  absl::StatusOr<std::unique_ptr<Transaction>> transaction =
      Transaction::Begin(db.get());
  ASSERT_TRUE(transaction.ok());
  // Accepted now, refused at COMMIT.
  ASSERT_TRUE(Insert(*db, "INSERT INTO child VALUES (?)", 7).ok());
  absl::Status status = (*transaction)->Commit();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_NE(sqlite3_get_autocommit(db->handle()), 0);
  EXPECT_EQ(CountRows(*db, "child"), 0);
}

TEST_F(SqliteTest, ConstraintViolationsMapToCanonicalCodes) {
  std::unique_ptr<Database> db = OpenOrDie(PathOf("constraints.db"));
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Migrate({"CREATE TABLE parent(id INTEGER PRIMARY KEY);"
                           "CREATE TABLE u(x INTEGER NOT NULL UNIQUE"
                           " CHECK (x >= 0));"
                           "CREATE TABLE child(parent_id INTEGER"
                           " REFERENCES parent(id));"})
                  .ok());
  ASSERT_TRUE(Insert(*db, "INSERT INTO parent VALUES (?)", 1).ok());
  absl::Status duplicate_key = Insert(*db, "INSERT INTO parent VALUES (?)", 1);
  EXPECT_EQ(duplicate_key.code(), absl::StatusCode::kAlreadyExists)
      << duplicate_key;
  EXPECT_THAT(duplicate_key.message(), HasSubstr("INSERT INTO parent"));
  EXPECT_THAT(duplicate_key.message(), HasSubstr("(code 1555)"));

  ASSERT_TRUE(Insert(*db, "INSERT INTO u VALUES (?)", 5).ok());
  absl::Status duplicate = Insert(*db, "INSERT INTO u VALUES (?)", 5);
  EXPECT_EQ(duplicate.code(), absl::StatusCode::kAlreadyExists) << duplicate;
  EXPECT_THAT(duplicate.message(), HasSubstr("UNIQUE constraint failed"));

  absl::Status check = Insert(*db, "INSERT INTO u VALUES (?)", -1);
  EXPECT_EQ(check.code(), absl::StatusCode::kFailedPrecondition) << check;
  absl::Status not_null = db->Exec("INSERT INTO u VALUES (NULL)");
  EXPECT_EQ(not_null.code(), absl::StatusCode::kFailedPrecondition) << not_null;
  absl::Status foreign_key = Insert(*db, "INSERT INTO child VALUES (?)", 9);
  EXPECT_EQ(foreign_key.code(), absl::StatusCode::kFailedPrecondition)
      << foreign_key;
}

TEST_F(SqliteTest, LockedDatabaseIsUnavailable) {
  const std::string path = PathOf("busy.db");
  Options impatient;
  impatient.busy_timeout = absl::ZeroDuration();
  std::unique_ptr<Database> holder = OpenOrDie(path);
  std::unique_ptr<Database> waiter = OpenOrDie(path, impatient);
  ASSERT_NE(holder, nullptr);
  ASSERT_NE(waiter, nullptr);
  absl::StatusOr<std::unique_ptr<Transaction>> held =
      Transaction::Begin(holder.get());
  ASSERT_TRUE(held.ok());
  absl::StatusOr<std::unique_ptr<Transaction>> blocked =
      Transaction::Begin(waiter.get());
  ASSERT_FALSE(blocked.ok());
  EXPECT_EQ(blocked.status().code(), absl::StatusCode::kUnavailable)
      << blocked.status();
}

TEST(SqliteErrorTest, MapsResultCodes) {
  struct Case {
    int code;
    absl::StatusCode expected;
  };
  const Case cases[] = {
      {SQLITE_BUSY, absl::StatusCode::kUnavailable},
      {SQLITE_LOCKED, absl::StatusCode::kUnavailable},
      {SQLITE_CONSTRAINT_UNIQUE, absl::StatusCode::kAlreadyExists},
      {SQLITE_CONSTRAINT_PRIMARYKEY, absl::StatusCode::kAlreadyExists},
      {SQLITE_CONSTRAINT_FOREIGNKEY, absl::StatusCode::kFailedPrecondition},
      {SQLITE_CONSTRAINT_CHECK, absl::StatusCode::kFailedPrecondition},
      {SQLITE_FULL, absl::StatusCode::kUnavailable},
      {SQLITE_IOERR_FSYNC, absl::StatusCode::kUnavailable},
      {SQLITE_CORRUPT, absl::StatusCode::kDataLoss},
      {SQLITE_NOTADB, absl::StatusCode::kDataLoss},
      {SQLITE_MISUSE, absl::StatusCode::kInternal},
  };
  for (const Case& c : cases) {
    absl::Status status = SqliteError(nullptr, c.code, "doing it");
    EXPECT_EQ(status.code(), c.expected) << c.code;
    EXPECT_THAT(status.message(), HasSubstr("doing it: "));
    EXPECT_THAT(status.message(),
                HasSubstr("(code " + std::to_string(c.code) + ")"));
  }
  EXPECT_THAT(SqliteError(nullptr, SQLITE_FULL, "w").message(),
              HasSubstr("disk"));
  EXPECT_THAT(SqliteError(nullptr, SQLITE_IOERR, "w").message(),
              HasSubstr("disk"));
}

// --- Crash durability ---

constexpr int kRowsPerBatch = 100;
constexpr int64_t kMaxBatches = 1'000'000;

bool ReadFull(int fd, void* buffer, size_t size) {
  char* out = static_cast<char*>(buffer);
  while (size > 0) {
    const ssize_t n = read(fd, out, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    out += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// Runs in the forked child until killed: one transaction per batch, and only
// after Commit returns, the batch number on `ack_fd`. Never returns.
[[noreturn]] void WriteBatches(const std::string& path, int ack_fd) {
  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(path);
  if (!db.ok()) _exit(2);
  for (int64_t batch = 0; batch < kMaxBatches; ++batch) {
    absl::StatusOr<std::unique_ptr<Transaction>> transaction =
        Transaction::Begin(db->get());
    if (!transaction.ok()) _exit(3);
    for (int64_t row = 0; row < kRowsPerBatch; ++row) {
      absl::StatusOr<Statement*> insert =
          (*db)->Prepare("INSERT INTO rows(batch, row) VALUES (?, ?)");
      if (!insert.ok()) _exit(4);
      if (!(*insert)->Bind(1, batch).Bind(2, row).Run().ok()) _exit(5);
    }
    if (!(*transaction)->Commit().ok()) _exit(6);
    if (write(ack_fd, &batch, sizeof(batch)) != sizeof(batch)) _exit(7);
  }
  _exit(0);
}

TEST_F(SqliteTest, AcknowledgedCommitsSurviveSigkill) {
  std::random_device seed_source;
  const unsigned seed = seed_source();
  SCOPED_TRACE(testing::Message() << "seed " << seed);
  std::mt19937 random(seed);

  for (int attempt = 0; attempt < 10; ++attempt) {
    SCOPED_TRACE(testing::Message() << "attempt " << attempt);
    const std::string path = PathOf("crash" + std::to_string(attempt) + ".db");
    {
      std::unique_ptr<Database> db = OpenOrDie(path);
      ASSERT_NE(db, nullptr);
      ASSERT_TRUE(db->Migrate({"CREATE TABLE rows(batch INTEGER NOT NULL,"
                               " row INTEGER NOT NULL,"
                               " PRIMARY KEY (batch, row));"})
                      .ok());
    }

    int acks[2];
    ASSERT_EQ(pipe(acks), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(acks[0]);
      WriteBatches(path, acks[1]);
    }
    close(acks[1]);

    // Kill anywhere: before the first commit, between commits, or inside
    // one (the acknowledgement count and the delay are both random).
    const int wait_for = std::uniform_int_distribution<int>(0, 30)(random);
    std::vector<int64_t> acknowledged;
    for (int i = 0; i < wait_for; ++i) {
      int64_t batch;
      if (!ReadFull(acks[0], &batch, sizeof(batch))) break;
      acknowledged.push_back(batch);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(
        std::uniform_int_distribution<int>(0, 20'000)(random)));
    ASSERT_EQ(kill(child, SIGKILL), 0);
    int wait_status = 0;
    ASSERT_EQ(waitpid(child, &wait_status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL)
        << "writer exited early with status " << wait_status;
    // What the child wrote before dying was acknowledged too.
    int64_t batch;
    while (ReadFull(acks[0], &batch, sizeof(batch))) {
      acknowledged.push_back(batch);
    }
    close(acks[0]);
    for (size_t i = 0; i < acknowledged.size(); ++i) {
      ASSERT_EQ(acknowledged[i], static_cast<int64_t>(i));
    }

    std::unique_ptr<Database> db = OpenOrDie(path);
    ASSERT_NE(db, nullptr);
    EXPECT_EQ(QueryOne<std::string>(*db, "PRAGMA integrity_check"), "ok");
    std::map<int64_t, int64_t> rows_per_batch;
    absl::StatusOr<Statement*> counts = db->Prepare(
        "SELECT batch, COUNT(*) FROM rows GROUP BY batch ORDER BY batch");
    ASSERT_TRUE(counts.ok());
    while (true) {
      absl::StatusOr<bool> row = (*counts)->Step();
      ASSERT_TRUE(row.ok()) << row.status();
      if (!*row) break;
      rows_per_batch[(*counts)->ColumnInt(0)] = (*counts)->ColumnInt(1);
    }
    for (const auto& [batch, rows] : rows_per_batch) {
      EXPECT_EQ(rows, kRowsPerBatch) << "batch " << batch << " is partial";
    }
    for (int64_t acked : acknowledged) {
      EXPECT_EQ(rows_per_batch.count(acked), 1u)
          << "acknowledged batch " << acked << " is lost";
    }
    // At most one batch committed but not yet acknowledged when killed.
    const int64_t committed = static_cast<int64_t>(rows_per_batch.size());
    const int64_t acked = static_cast<int64_t>(acknowledged.size());
    EXPECT_TRUE(committed == acked || committed == acked + 1)
        << committed << " batches committed, " << acked << " acknowledged";
    if (!rows_per_batch.empty()) {
      EXPECT_EQ(rows_per_batch.rbegin()->first, committed - 1);
    }
    RecordProperty("batches_" + std::to_string(attempt),
                   std::to_string(committed));
  }
}

}  // namespace
}  // namespace thb::sqlite

#pragma once
// A small RAII layer over the SQLite C API. Every statement is prepared and its
// values bound, never spliced into SQL text.
#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "util/errors.h"

namespace stoflow::store {

class Database;

class Statement {
 public:
  // Borrows `stmt` from `owner`'s cache, which takes it back (reset, bindings
  // cleared) when the statement goes out of scope.
  Statement(Database& owner, sqlite3_stmt* stmt, std::string_view sql);
  // Prepares `sql` on a bare connection (doctor's read-only one); finalized at the end.
  Statement(sqlite3* db, std::string_view sql);
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement& operator=(Statement&&) = delete;

  Statement& bind(int index, int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<int64_t>(value)); }
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, const std::string& value) {
    return bind(index, std::string_view(value));
  }
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, std::nullptr_t);
  template <typename T>
  Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind(index, nullptr);
  }

  template <typename... Args>
  Statement& bind_all(Args&&... args) {
    int index = 0;
    (bind(++index, std::forward<Args>(args)), ...);
    return *this;
  }

  // Advances to the next row; false when the statement is done.
  bool step();
  // Runs a statement that returns no rows.
  void run();

  bool is_null(int column) const;
  int64_t int64(int column) const;
  double real(int column) const;
  std::string text(int column) const;
  std::optional<std::string> optional_text(int column) const;
  std::optional<int64_t> optional_int64(int column) const;

 private:
  Database* owner_ = nullptr;
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string_view sql_;  // the cache's key, owned by the cache
};

class Database {
 public:
  // Opens (creating with mode 0600 when missing) and configures the database for
  // durability: WAL, synchronous=FULL, foreign keys, a busy timeout for the
  // other processes (browser hosts, CLI, HTTP server) sharing the file.
  explicit Database(const std::filesystem::path& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  template <typename... Args>
  Statement query(std::string_view sql, Args&&... args) {
    auto [stmt, key] = acquire(sql);
    Statement statement(*this, stmt, key);
    statement.bind_all(std::forward<Args>(args)...);
    return statement;
  }

  template <typename... Args>
  void exec(std::string_view sql, Args&&... args) {
    query(sql, std::forward<Args>(args)...).run();
  }

  // For multi-statement scripts without parameters (migrations only).
  void exec_script(const std::string& sql);
  int64_t last_insert_id() const { return sqlite3_last_insert_rowid(handle_); }
  int changes() const { return sqlite3_changes(handle_); }
  const std::filesystem::path& path() const { return path_; }
  sqlite3* handle() const { return handle_; }

  // Rows read by full-table scans and sorts run, over every statement this
  // connection finished: the dispatch path must add none (tests read these).
  struct ScanCounters {
    int64_t full_scan_steps = 0;
    int64_t sorts = 0;
    int64_t vm_steps = 0;    // SQLite's own unit of work: rows read, compared, written
    int64_t statements = 0;  // statements run
  };
  const ScanCounters& scan_counters() const { return scan_counters_; }

  // Changes when another connection committed since the last call (SQLite's
  // data_version): a process tells its own commits from foreign ones.
  int64_t data_version();

 private:
  friend class Statement;
  static int after_commit(void* self, sqlite3* db, const char* schema, int wal_pages);
  // Prepared statements are kept per SQL text and reused: preparing is most
  // of the cost of the small statements of a step.
  std::pair<sqlite3_stmt*, std::string_view> acquire(std::string_view sql);
  void release(std::string_view sql, sqlite3_stmt* stmt);

  std::filesystem::path path_;
  sqlite3* handle_ = nullptr;
  int commit_signal_fd_ = -1;
  std::unordered_map<std::string, std::vector<sqlite3_stmt*>> idle_statements_;
  ScanCounters scan_counters_;
};

// A file whose timestamp every connection touches after each commit, once the
// commit is visible to readers. Processes that wait for work watch it: the WAL
// itself is written before its commit is published, and the wal-index that
// publishes it is a memory map, which file watchers do not see.
std::filesystem::path commit_signal_path(const std::filesystem::path& db_path);

// BEGIN IMMEDIATE takes the write lock up front, so two processes never both
// read "no step in flight" and then both lease one. Rolls back unless committed.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Database& db_;
  bool done_ = false;
};

// Several reads from one snapshot. Each statement outside a transaction takes
// and drops the WAL's read lock (file locks, two system calls each); a pass
// of a dozen small reads takes it once.
class ReadTransaction {
 public:
  explicit ReadTransaction(Database& db);
  ~ReadTransaction();
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;

 private:
  Database& db_;
};

class DatabaseError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The file is not a sound SQLite database: SQLite answered SQLITE_CORRUPT or
// SQLITE_NOTADB, PRAGMA quick_check found damage, or schema_migrations holds
// rows no stoflow-host writes. Nothing can be trusted from such a file (not even
// its schema version), so every front end says "the database is damaged: ..."
// and sends the seller to `stoflow-host doctor`, which says how to recover.
// An AppError, so the CLI, the stdio JSON-RPC handler and the HTTP API pass
// its message through unchanged; data.reason is "database_damaged".
class DatabaseDamaged : public AppError {
 public:
  // `sqlite_code`: the primary result code that revealed it, 0 for our own checks.
  DatabaseDamaged(const std::filesystem::path& path, const std::string& detail,
                  int sqlite_code = 0);
  const std::string& detail() const { return detail_; }
  int sqlite_code() const { return sqlite_code_; }

 private:
  std::string detail_;
  int sqlite_code_;
};

// True for the result codes that mean the file itself is damaged.
bool is_damage_code(int result_code);

// PRAGMA quick_check: the damage it finds, at most `limit` messages; empty when
// the file is intact. It reads every page once (not the index cross-checks of
// integrity_check), so it takes about as long as reading the file: well under
// a second for a seller's database of tens of megabytes. A check that cannot
// even run because of damage returns SQLite's message.
std::vector<std::string> quick_check(sqlite3* db, int limit = 10);

}  // namespace stoflow::store

#include "store/database.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "platform/files.h"
#include "util/log.h"
#include "util/paths.h"

namespace stoflow::store {

namespace {

std::filesystem::path file_of(sqlite3* db) {
  const char* name = db ? sqlite3_db_filename(db, "main") : nullptr;
  return name ? std::filesystem::path(name) : std::filesystem::path();
}

[[noreturn]] void fail(sqlite3* db, std::string_view what) {
  int code = db ? sqlite3_extended_errcode(db) : SQLITE_MISUSE;
  std::string message = db ? sqlite3_errmsg(db) : "no database";
  // Damage is said as such whichever statement ran into it, so that it is never
  // mistaken for a bug or, worse, read as data (a schema version, say).
  if (is_damage_code(code)) throw DatabaseDamaged(file_of(db), message, code & 0xff);
  throw DatabaseError(std::string(what) + ": " + message);
}

void check(sqlite3* db, int rc, std::string_view what) {
  if (rc != SQLITE_OK) fail(db, what);
}

// SQLite would create the file with the process umask (often 0644); a seller's
// catalogue and session-derived data must not be readable by other users.
// An existing database is never opened here: closing any descriptor of it
// would drop the POSIX locks of every SQLite connection this process holds on
// it, and another process could then delete the live WAL (SQLite's "How To
// Corrupt An SQLite Database File", section 2.2). chmod works on the path.
void create_private_file(const std::filesystem::path& path) {
  int fd = platform::open_file(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);  // new: no connection can hold a lock on it yet
    return;
  }
  if (errno != EEXIST) {
    throw DatabaseError("cannot create " + path.string() + ": " + std::strerror(errno));
  }
  platform::make_private_file(path);
}

}  // namespace

DatabaseDamaged::DatabaseDamaged(const std::filesystem::path& path, const std::string& detail,
                                 int sqlite_code)
    : AppError(ErrorCode::kInternal,
               "the database is damaged: " + detail +
                   (path.empty() ? std::string() : " (" + path.string() + ")") +
                   "; stop every stoflow-host, then restore a backup or salvage it: run "
                   "`stoflow-host doctor` to see how",
               nlohmann::json{{"reason", "database_damaged"}}),
      detail_(detail),
      sqlite_code_(sqlite_code) {}

bool is_damage_code(int result_code) {
  int primary = result_code & 0xff;
  return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB;
}

std::vector<std::string> quick_check(sqlite3* db, int limit) {
  std::vector<std::string> damage;
  try {
    Statement check(db, "PRAGMA quick_check(" + std::to_string(limit) + ")");
    while (check.step()) {
      // A row may hold several findings, one a line, under a "*** in database main ***" title.
      std::string text = check.text(0);
      size_t start = 0;
      while (start <= text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(start, end - start);
        if (!line.empty() && line != "ok" && line.rfind("*** ", 0) != 0) damage.push_back(line);
        start = end + 1;
      }
    }
  } catch (const DatabaseDamaged& e) {
    // The check itself gave up on the damage: its findings so far say more, if any.
    if (damage.empty()) damage.push_back(e.detail());
  }
  return damage;
}

Statement::Statement(Database& owner, sqlite3_stmt* stmt, std::string_view sql)
    : owner_(&owner), db_(owner.handle()), stmt_(stmt), sql_(sql) {}

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db) {
  int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  if (rc != SQLITE_OK) fail(db, "prepare failed for `" + std::string(sql) + "`");
}

Statement::Statement(Statement&& other) noexcept
    : owner_(other.owner_), db_(other.db_), stmt_(other.stmt_), sql_(other.sql_) {
  other.stmt_ = nullptr;
}

Statement::~Statement() {
  if (stmt_ && owner_)
    owner_->release(sql_, stmt_);
  else
    sqlite3_finalize(stmt_);
}

Statement& Statement::bind(int index, int64_t value) {
  check(db_, sqlite3_bind_int64(stmt_, index, value), "bind");
  return *this;
}

Statement& Statement::bind(int index, double value) {
  check(db_, sqlite3_bind_double(stmt_, index, value), "bind");
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  check(
      db_,
      sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8),
      "bind");
  return *this;
}

Statement& Statement::bind(int index, std::nullptr_t) {
  check(db_, sqlite3_bind_null(stmt_, index), "bind");
  return *this;
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  fail(db_, "statement failed");
}

void Statement::run() {
  while (step()) {
  }
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

int64_t Statement::int64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

double Statement::real(int column) const {
  return sqlite3_column_double(stmt_, column);
}

std::string Statement::text(int column) const {
  const auto* data = sqlite3_column_text(stmt_, column);
  int size = sqlite3_column_bytes(stmt_, column);
  return data ? std::string(reinterpret_cast<const char*>(data), static_cast<size_t>(size))
              : std::string();
}

std::optional<std::string> Statement::optional_text(int column) const {
  if (is_null(column)) return std::nullopt;
  return text(column);
}

std::optional<int64_t> Statement::optional_int64(int column) const {
  if (is_null(column)) return std::nullopt;
  return int64(column);
}

Database::Database(const std::filesystem::path& path) : path_(path) {
  ensure_private_dir(path.parent_path());
  create_private_file(path);
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  // SQLite takes UTF-8 names on every platform (wide ones at the Windows API).
  if (sqlite3_open_v2(platform::utf8(path).c_str(), &handle_, flags, nullptr) != SQLITE_OK) {
    std::string message = handle_ ? sqlite3_errmsg(handle_) : "out of memory";
    sqlite3_close(handle_);
    throw DatabaseError("cannot open " + path.string() + ": " + message);
  }
  sqlite3_extended_result_codes(handle_, 1);
  sqlite3_busy_timeout(handle_, 10000);
  // WAL lets the CLI and dashboard read while a browser host writes;
  // synchronous=FULL makes every acknowledged result survive a power cut.
  // This is the first read of the file, where one that is no database fails;
  // the destructor does not run for a constructor that throws.
  try {
    exec_script(
        "PRAGMA journal_mode=WAL;"
        "PRAGMA synchronous=FULL;"
        "PRAGMA foreign_keys=ON;");
  } catch (...) {
    sqlite3_close_v2(handle_);
    handle_ = nullptr;
    throw;
  }
  auto signal = commit_signal_path(path);
  commit_signal_fd_ = platform::open_file(signal, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (commit_signal_fd_ < 0) {
    log::warn("cannot open " + signal.string() +
              ": other processes will see this one's changes only on their timer");
  }
  // Replaces SQLite's own auto-checkpoint hook, so after_commit checkpoints too.
  sqlite3_wal_hook(handle_, &Database::after_commit, this);
}

Database::~Database() {
  for (auto& [sql, statements] : idle_statements_) {
    for (sqlite3_stmt* stmt : statements) sqlite3_finalize(stmt);
  }
  if (handle_) sqlite3_close_v2(handle_);
  if (commit_signal_fd_ >= 0) ::close(commit_signal_fd_);
}

int Database::after_commit(void* self, sqlite3* db, const char* schema, int wal_pages) {
  auto* database = static_cast<Database*>(self);
  if (database->commit_signal_fd_ >= 0) platform::touch(database->commit_signal_fd_);
  // SQLite's default: checkpoint once the WAL holds 1000 pages.
  if (wal_pages >= 1000)
    sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  return SQLITE_OK;
}

std::pair<sqlite3_stmt*, std::string_view> Database::acquire(std::string_view sql) {
  auto it = idle_statements_.find(std::string(sql));
  if (it == idle_statements_.end()) it = idle_statements_.emplace(std::string(sql), 0).first;
  std::string_view key = it->first;  // stable: map nodes never move
  if (!it->second.empty()) {
    sqlite3_stmt* stmt = it->second.back();
    it->second.pop_back();
    return {stmt, key};
  }
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(handle_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) fail(handle_, "prepare failed for `" + std::string(sql) + "`");
  return {stmt, key};
}

void Database::release(std::string_view sql, sqlite3_stmt* stmt) {
  scan_counters_.full_scan_steps += sqlite3_stmt_status(stmt, SQLITE_STMTSTATUS_FULLSCAN_STEP, 1);
  scan_counters_.sorts += sqlite3_stmt_status(stmt, SQLITE_STMTSTATUS_SORT, 1);
  scan_counters_.vm_steps += sqlite3_stmt_status(stmt, SQLITE_STMTSTATUS_VM_STEP, 1);
  scan_counters_.statements += 1;
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  // A statement in use when the same SQL was asked for again (a nested read)
  // comes back as a second copy; keep a few, not an unbounded pile.
  auto it = idle_statements_.find(std::string(sql));
  if (it == idle_statements_.end() || it->second.size() >= 4) {
    sqlite3_finalize(stmt);
    return;
  }
  it->second.push_back(stmt);
}

int64_t Database::data_version() {
  auto q = query("PRAGMA data_version");
  q.step();
  return q.int64(0);
}

std::filesystem::path commit_signal_path(const std::filesystem::path& db_path) {
  return with_suffix(db_path, "-commits");
}

void Database::exec_script(const std::string& sql) {
  char* error = nullptr;
  int rc = sqlite3_exec(handle_, sql.c_str(), nullptr, nullptr, &error);
  if (rc != SQLITE_OK) {
    std::string message = error ? error : sqlite3_errstr(rc);
    sqlite3_free(error);
    // The first statement at open (PRAGMA journal_mode) is where a file that is
    // no database at all, or has a destroyed first page, shows.
    if (is_damage_code(rc)) throw DatabaseDamaged(path_, message, rc & 0xff);
    throw DatabaseError("SQL failed: " + message);
  }
}

Transaction::Transaction(Database& db) : db_(db) {
  db_.exec("BEGIN IMMEDIATE");
}

Transaction::~Transaction() {
  if (done_) return;
  try {
    db_.exec("ROLLBACK");
  } catch (const std::exception& e) {
    log::error(std::string("rollback failed: ") + e.what());
  }
}

void Transaction::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

ReadTransaction::ReadTransaction(Database& db) : db_(db) {
  db_.exec("BEGIN");
}

ReadTransaction::~ReadTransaction() {
  try {
    db_.exec("COMMIT");  // a read-only transaction: this only ends the snapshot
  } catch (const std::exception& e) {
    log::error(std::string("ending a read failed: ") + e.what());
  }
}

}  // namespace stoflow::store

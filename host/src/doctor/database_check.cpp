#include "doctor/database_check.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <cstdio>

#include "store/database.h"
#include "util/paths.h"

namespace stoflow::doctor {

namespace {

constexpr mode_t kPrivateMode = 0600;

// Owns a read-only connection; SQLITE_OPEN_READONLY also guarantees the file is not created.
class ReadOnlyConnection {
 public:
  explicit ReadOnlyConnection(const std::filesystem::path& path) {
    int rc = sqlite3_open_v2(path.c_str(), &handle_, SQLITE_OPEN_READONLY, nullptr);
    if (rc != SQLITE_OK) {
      std::string message = handle_ ? sqlite3_errmsg(handle_) : sqlite3_errstr(rc);
      sqlite3_close(handle_);
      throw store::DatabaseError(message);
    }
    // The host may be writing at the same moment; wait for it briefly instead of failing.
    sqlite3_busy_timeout(handle_, 2000);
  }
  ~ReadOnlyConnection() { sqlite3_close(handle_); }
  ReadOnlyConnection(const ReadOnlyConnection&) = delete;
  ReadOnlyConnection& operator=(const ReadOnlyConnection&) = delete;

  bool has_table(const char* name) {
    store::Statement q(handle_, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
    q.bind(1, name);
    return q.step();
  }
  int64_t scalar(const char* sql) {
    store::Statement q(handle_, sql);
    q.step();
    return q.int64(0);
  }
  store::Statement query(const char* sql) { return store::Statement(handle_, sql); }

 private:
  sqlite3* handle_ = nullptr;
};

void check_mode(const std::filesystem::path& path, DatabaseResult& result) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return;
  result.mode = info.st_mode & 07777;
  if (*result.mode != kPrivateMode) {
    result.problems.push_back(
        {"database_mode", "the database has mode " + format_mode(*result.mode) + ", expected 0600",
         "chmod 600 " + shell_quote(path.string()) + " (it holds your catalogue)"});
  }
}

void read_contents(ReadOnlyConnection& db, DatabaseResult& result) {
  if (!db.has_table("schema_migrations") || !db.has_table("plugin_queue")) {
    result.problems.push_back({"not_a_stoflow_database",
                               "the file has no StoFlow tables (schema_migrations, plugin_queue)",
                               "check STOFLOW_DB / --db, or move the file away so the host "
                               "creates a new database"});
    return;
  }
  result.schema_version = db.scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  // Every known state is listed, so that a zero count is shown rather than left out.
  for (const auto& status : queue_statuses()) result.queues[status] = 0;
  auto counts = db.query("SELECT status, COUNT(*) FROM plugin_queue GROUP BY status");
  while (counts.step()) result.queues[counts.text(0)] = counts.int64(1);
}

}  // namespace

const std::vector<std::string>& queue_statuses() {
  static const std::vector<std::string> statuses = {"queued", "processing", "completed",
                                                    "failed", "paused",     "cancelled"};
  return statuses;
}

std::string format_mode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

DatabaseLocation locate_database(const std::optional<std::string>& cli_db) {
  std::string source = env("STOFLOW_DB") ? "STOFLOW_DB" : cli_db ? "--db" : "default";
  return {resolve_db_path(cli_db), source};
}

DatabaseResult check_database(const DatabaseLocation& location) {
  DatabaseResult result;
  result.location = location;
  std::error_code ec;
  result.exists = std::filesystem::exists(location.path, ec);
  if (!result.exists) return result;
  check_mode(location.path, result);
  try {
    ReadOnlyConnection db(location.path);
    read_contents(db, result);
  } catch (const std::exception& e) {
    result.problems.push_back({"database_unreadable",
                               "cannot read the database: " + std::string(e.what()),
                               "check the file; if it is damaged, restore it from a backup"});
  }
  return result;
}

}  // namespace stoflow::doctor

#include "doctor/database_check.h"

#include <sqlite3.h>

#include <cstdio>

#include "platform/files.h"
#include "store/database.h"
#include "store/migrations.h"
#include "util/paths.h"

#ifndef STOFLOW_VERSION
#define STOFLOW_VERSION "0.0.0"
#endif

namespace stoflow::doctor {

namespace {

constexpr mode_t kPrivateMode = 0600;
// quick_check stops after this many findings: enough to see what kind of damage it is.
constexpr int kMaxDamage = 5;

// Owns a read-only connection; SQLITE_OPEN_READONLY also guarantees the file is not created, and
// such a connection never checkpoints or removes a -wal file on close.
class ReadOnlyConnection {
 public:
  explicit ReadOnlyConnection(const std::filesystem::path& path) {
    int rc = sqlite3_open_v2(platform::utf8(path).c_str(), &handle_, SQLITE_OPEN_READONLY, nullptr);
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

  sqlite3* handle() const { return handle_; }
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

std::string quoted(const std::filesystem::path& path, const std::string& suffix = "") {
  return shell_quote(path.string() + suffix);
}

// What really works with the sqlite3 shell of Debian 12 (3.40): its .recover needs the
// sqlite_dbpage table, which that build lacks, so the salvage is a .dump, which skips what it
// cannot read and ends in ROLLBACK when it met damage; turned into COMMIT, it keeps the rest.
// A damaged schema_migrations comes out empty: the host then recognises the tables of its
// schema version and records it again.
std::string salvage_fix(const std::filesystem::path& path) {
  std::string db = quoted(path);
  std::string salvaged = quoted(path, ".salvaged");
  return "stop every stoflow-host first (quit the browsers, stop `stoflow-host serve`) and keep a "
         "copy of " +
         db + " (and " + quoted(path, "-wal") +
         " if present); then restore your latest backup of it, or salvage what is still "
         "readable:\n"
         "(umask 077 && rm -f " +
         salvaged + " && sqlite3 -readonly " + db +
         " .dump | sed 's/^ROLLBACK; -- due to errors$/COMMIT;/' | sqlite3 " + salvaged +
         ")\n"
         "STOFLOW_DB=" +
         salvaged +
         " stoflow-host doctor\n"
         "# if its database line says ok (check your products and queues too), put it in place:\n"
         "rm -f " +
         quoted(path, "-wal") + " " + quoted(path, "-shm") + " && mv " + salvaged + " " + db;
}

void set_damaged(DatabaseResult& result, const std::string& detail) {
  result.state = DatabaseState::kDamaged;
  result.schema_version.reset();  // nothing read from a damaged file is to be believed
  result.queues.clear();
  if (result.damage.empty()) result.damage.push_back(detail);
  result.problems.push_back({"database_damaged", "the database is damaged: " + detail,
                             salvage_fix(result.location.path)});
}

void check_mode(const std::filesystem::path& path, DatabaseResult& result) {
  auto mode = platform::file_mode(path);  // none on Windows: see platform/files.h
  if (!mode) return;
  result.mode = *mode;
  if (*result.mode != kPrivateMode) {
    result.problems.push_back(
        {"database_mode", "the database has mode " + format_mode(*result.mode) + ", expected 0600",
         "chmod 600 " + shell_quote(path.string()) + " (it holds your catalogue)"});
  }
}

void compare_versions(DatabaseResult& result, int64_t version) {
  result.schema_version = version;
  int latest = result.binary_schema_version;
  if (version < latest) {
    result.state = DatabaseState::kOlder;
  } else if (version == latest) {
    result.state = DatabaseState::kOk;
  } else {
    result.state = DatabaseState::kNewer;
    result.problems.push_back(
        {"database_newer",
         "the database has schema version " + std::to_string(version) +
             ", written by a newer stoflow-host (this one, " + STOFLOW_VERSION + ", knows up to " +
             std::to_string(latest) + ") and refuses to use it",
         "install the newer stoflow-host that wrote it and register it (installer/install.sh "
         "--host /path/to/that/stoflow-host); this one never changes the database"});
  }
}

void count_queues(ReadOnlyConnection& db, DatabaseResult& result) {
  // Every known state is listed, so that a zero count is shown rather than left out.
  for (const auto& status : queue_statuses()) result.queues[status] = 0;
  auto counts = db.query("SELECT status, COUNT(*) FROM plugin_queue GROUP BY status");
  while (counts.step()) result.queues[counts.text(0)] = counts.int64(1);
}

void inspect(ReadOnlyConnection& db, DatabaseResult& result) {
  // Reading the schema is where a file that is no database at all fails (SQLITE_NOTADB).
  int64_t objects = db.scalar("SELECT COUNT(*) FROM sqlite_master");
  // Nothing else the file says can be believed before it is known to be intact: random bytes in
  // a page read as a schema version as readily as anything else.
  result.damage = store::quick_check(db.handle(), kMaxDamage);
  result.integrity_checked = true;
  if (!result.damage.empty()) {
    set_damaged(result, "PRAGMA quick_check: " + result.damage.front());
    return;
  }
  if (objects == 0) {
    result.state = DatabaseState::kEmpty;
    return;
  }
  if (!db.has_table("schema_migrations") || !db.has_table("plugin_queue")) {
    result.state = DatabaseState::kForeign;
    result.problems.push_back({"not_a_stoflow_database",
                               "the file has no StoFlow tables (schema_migrations, plugin_queue)",
                               "check STOFLOW_DB / --db, or move the file away so the host "
                               "creates a new database"});
    return;
  }
  int version = 0;
  std::string lost;
  try {
    version = store::recorded_schema_version(db.handle());  // DatabaseDamaged when implausible
  } catch (const store::SchemaRowsMissing& e) {
    lost = e.detail();  // the host writes them again if the tables prove the version
  }
  if (version == 0) {
    auto matching = store::version_of_unrecorded_schema(db.handle());
    if (!matching) {
      set_damaged(result, lost.empty() ? "schema_migrations has no rows, and the tables are not "
                                         "those of any schema version this stoflow-host knows"
                                       : lost);
      return;
    }
    compare_versions(result, *matching);
    if (result.state != DatabaseState::kNewer) result.state = DatabaseState::kUnrecorded;
  } else {
    compare_versions(result, version);
  }
  try {
    count_queues(db, result);
  } catch (const store::DatabaseError&) {
    // A newer schema may have changed plugin_queue; its counts are a courtesy.
    if (result.state != DatabaseState::kNewer) throw;
    result.queues.clear();
  }
}

}  // namespace

const char* to_string(DatabaseState state) {
  switch (state) {
    case DatabaseState::kMissing:
      return "missing";
    case DatabaseState::kEmpty:
      return "empty";
    case DatabaseState::kOk:
      return "ok";
    case DatabaseState::kOlder:
      return "older";
    case DatabaseState::kUnrecorded:
      return "unrecorded";
    case DatabaseState::kNewer:
      return "newer";
    case DatabaseState::kDamaged:
      return "damaged";
    case DatabaseState::kNotADatabase:
      return "not_a_database";
    case DatabaseState::kForeign:
      return "not_stoflow";
    case DatabaseState::kUnreadable:
      return "unreadable";
  }
  return "?";
}

bool DatabaseResult::failed() const {
  switch (state) {
    case DatabaseState::kMissing:
    case DatabaseState::kEmpty:
    case DatabaseState::kOk:
    case DatabaseState::kOlder:
    case DatabaseState::kUnrecorded:
      return false;
    case DatabaseState::kNewer:
    case DatabaseState::kDamaged:
    case DatabaseState::kNotADatabase:
    case DatabaseState::kForeign:
    case DatabaseState::kUnreadable:
      return true;
  }
  return true;
}

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
  result.binary_schema_version = store::latest_schema_version();
  std::error_code ec;
  result.exists = std::filesystem::exists(location.path, ec);
  if (!result.exists) return result;
  check_mode(location.path, result);
  try {
    ReadOnlyConnection db(location.path);
    inspect(db, result);
  } catch (const store::DatabaseDamaged& e) {
    if (e.sqlite_code() == SQLITE_NOTADB) {
      result.state = DatabaseState::kNotADatabase;
      result.damage = {e.detail()};
      result.problems.push_back(
          {"not_a_database", "the file is not an SQLite database (" + e.detail() + ")",
           "if STOFLOW_DB or --db names the wrong file, point it at your database; if this is "
           "your StoFlow database, its first page is destroyed: stop every stoflow-host and "
           "restore your latest backup of it"});
    } else {
      set_damaged(result, e.detail());
    }
  } catch (const std::exception& e) {
    result.state = DatabaseState::kUnreadable;
    result.schema_version.reset();
    result.queues.clear();
    result.problems.push_back(
        {"database_unreadable", "cannot read the database: " + std::string(e.what()),
         "check that the file is yours and readable (ls -l " + quoted(location.path) +
             "); if it is damaged, restore it from a backup"});
  }
  return result;
}

}  // namespace stoflow::doctor

#pragma once
// What doctor says about the database: where the host would open it, whether it is there, whether
// it is intact (PRAGMA quick_check), its schema version against this binary's, how many operations
// are queued in each state, and whether it is private.
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "doctor/manifest_check.h"

namespace stoflow::doctor {

struct DatabaseLocation {
  std::filesystem::path path;
  std::string source;  // "STOFLOW_DB", "--db" or "default", as resolve_db_path chose
};

// The host's own resolution ($STOFLOW_DB, then --db, then the data directory).
DatabaseLocation locate_database(const std::optional<std::string>& cli_db);

// The verdict on the file. The first four are usable as they are (the host sets up, migrates or
// records what is needed on its next start); the others make doctor fail.
enum class DatabaseState {
  kMissing,       // no file yet: the host creates it
  kEmpty,         // an empty file, or an SQLite database without any table: the host sets it up
  kOk,            // intact, at this binary's schema version
  kOlder,         // intact, an older schema version: migrated the next time the host opens it
  kUnrecorded,    // intact, schema_migrations lost its rows but the tables are exactly those of
                  // schema_version: the host records it the next time it opens it
  kNewer,         // intact, written by a newer stoflow-host: this one refuses it
  kDamaged,       // PRAGMA quick_check or SQLite found damage
  kNotADatabase,  // not an SQLite file at all (or its first page is destroyed)
  kForeign,       // an SQLite database without StoFlow's tables
  kUnreadable,    // could not be opened or read (permissions, I/O error, locked)
};
const char* to_string(DatabaseState state);

struct DatabaseResult {
  DatabaseLocation location;
  bool exists = false;
  DatabaseState state = DatabaseState::kMissing;
  std::optional<mode_t> mode;  // permission bits
  int binary_schema_version = 0;
  std::optional<int64_t> schema_version;
  bool integrity_checked = false;         // PRAGMA quick_check ran to its end
  std::vector<std::string> damage;        // what it (or SQLite) found; empty when intact
  std::map<std::string, int64_t> queues;  // plugin_queue rows by status, every known status listed
  std::vector<Problem> problems;

  // The host cannot use the file as it is (damaged, newer, not ours, unreadable).
  bool failed() const;
};

// The design's queue states, in their lifecycle order.
const std::vector<std::string>& queue_statuses();

// "0600" and the like.
std::string format_mode(mode_t mode);

// Opens the file read-only (never creating, migrating or checkpointing it, and reading a -wal
// left by a killed host without touching it), so doctor changes nothing. PRAGMA quick_check reads
// every page once: about as long as reading the file, well under a second for a seller's
// database of tens of megabytes.
DatabaseResult check_database(const DatabaseLocation& location);

}  // namespace stoflow::doctor

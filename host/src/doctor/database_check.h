#pragma once
// What doctor says about the database: where the host would open it, whether it is there, its
// schema version, how many operations are queued in each state, and whether it is private.
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

struct DatabaseResult {
  DatabaseLocation location;
  bool exists = false;
  std::optional<mode_t> mode;  // permission bits
  std::optional<int64_t> schema_version;
  std::map<std::string, int64_t> queues;  // plugin_queue rows by status, every known status listed
  std::vector<Problem> problems;
};

// The design's queue states, in their lifecycle order.
const std::vector<std::string>& queue_statuses();

// "0600" and the like.
std::string format_mode(mode_t mode);

// Opens the file read-only (never creating or migrating it, so doctor changes nothing).
DatabaseResult check_database(const DatabaseLocation& location);

}  // namespace stoflow::doctor

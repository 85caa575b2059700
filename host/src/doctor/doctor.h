#pragma once
// `stoflow-host doctor`: is StoFlow Companion registered with each browser so that the extension
// can start this host? The checks are pure functions of a Setup (no process state), so tests can
// aim them at a temporary HOME; the CLI builds the Setup from the real environment.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "doctor/browser_table.h"
#include "doctor/database_check.h"
#include "doctor/manifest_check.h"

namespace stoflow::doctor {

// What to check and where.
struct Setup {
  std::string_view table = builtin_browser_table();
  std::string table_source = "installer/browsers.tsv (built in)";
  PathEnvironment env;
  std::optional<std::string> forced_os;  // STOFLOW_INSTALL_OS
  std::filesystem::path self;            // this binary; empty when unknown
  std::vector<std::string> browsers;     // canonical names; empty means all
  std::vector<std::filesystem::path> chrome_user_data_dirs;
  std::optional<DatabaseLocation> database;  // nullopt: not checked
};

// kMissing is a failure only because the browser is installed (or the directory was named on the
// command line); the same absence for a browser that is not installed is kNotInstalled.
enum class BrowserStatus { kOk, kBad, kMissing, kNotInstalled };
const char* to_string(BrowserStatus status);

// The pseudo-browser that stands for a --chrome-user-data-dir directory.
inline constexpr const char* kUserDataDir = "user-data-dir";

struct LocationResult {
  std::string scope;  // "user", "system" or "user-data-dir"
  std::filesystem::path directory;
  ManifestResult manifest;
};

struct BrowserResult {
  std::string browser;  // a known browser, or kUserDataDir
  bool installed = false;
  std::filesystem::path evidence;  // what shows it is installed (a profile file or directory)
  BrowserStatus status = BrowserStatus::kNotInstalled;
  std::vector<LocationResult> locations;
  std::optional<Problem> missing;  // set when kMissing: how to register it
  std::string note;                // set when kNotInstalled

  bool failed() const { return status == BrowserStatus::kBad || status == BrowserStatus::kMissing; }
};

struct Report {
  Os os = Os::kLinux;
  std::filesystem::path self;
  std::vector<BrowserResult> browsers;
  std::optional<DatabaseResult> database;

  // The exit status contract: every browser that is installed is registered, every manifest
  // present is sound, and the database is usable (missing, empty, ok, or older and to be
  // migrated; not damaged, newer than this binary, foreign or unreadable). A database that is only
  // too widely readable is a warning and does not change it.
  bool ok() const;
};

// Throws TableError when the table or STOFLOW_INSTALL_OS is unusable.
Report diagnose(const Setup& setup);

}  // namespace stoflow::doctor

#pragma once
// `stoflow-host install` and `uninstall`: what installer/install.sh and uninstall.sh do, from the
// same table (installer/browsers.tsv) and templates (manifest/*.json.in), both built in, with the
// running executable as the host the manifests name. The work is a function of a Request and an
// Environment (no process state), so tests can aim it at a temporary HOME and root; command.cpp
// builds both from the command line and the process.
#include <cstddef>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "doctor/browser_table.h"
#include "install/registry.h"

namespace stoflow::install {

// What to register (or unregister).
struct Request {
  doctor::Scope scope = doctor::Scope::kUser;
  std::vector<std::string> browsers;  // canonical names (doctor::select_browsers); empty means all
  // Chromium-family user data directories (--user-data-dir=DIR): DIR/NativeMessagingHosts too.
  std::vector<std::filesystem::path> chrome_user_data_dirs;  // absolute
};

// Where.
struct Environment {
  std::string_view table = doctor::builtin_browser_table();
  std::string table_source = "installer/browsers.tsv (built in)";
  doctor::Os os = doctor::Os::kLinux;
  doctor::PathEnvironment paths;  // HOME, XDG_CONFIG_HOME, STOFLOW_INSTALL_ROOT
  std::filesystem::path host;     // the executable the manifests name (absolute)
  bool privileged = false;        // root: only changes the hint when a location is not writable
  // Windows rows only: the registry, and the directory that gets one manifest per flavour
  // (%LOCALAPPDATA%\StoFlow\NativeMessagingHosts\<flavour>\, as installer/install.ps1 writes).
  Registry* registry = nullptr;
  std::filesystem::path windows_manifest_dir;
};

enum class Action {
  kWritten,     // install: a new manifest
  kUpdated,     // install: a manifest that differed (content or mode) was replaced
  kUnchanged,   // install: already exactly so
  kSet,         // install: a registry key's default value was set
  kRemoved,     // uninstall
  kNotPresent,  // uninstall: nothing there
  kKept,        // uninstall: still used by a browser that is not being uninstalled
  kLeftAlone,   // uninstall: something there, not ours
  kSameTarget,  // a file or key already handled for another browser in this run
  kFailed,
};
// "written", "updated", "unchanged", "set", "removed", "not present", "kept", "left alone",
// "(same file)", "failed": the words install.sh and uninstall.sh print.
const char* to_string(Action action);

struct Step {
  std::string label;   // a browser, "user-data" (a --chrome-user-data-dir) or "manifest" (windows)
  std::string target;  // the manifest file, or the registry key
  Action action = Action::kFailed;
  std::string detail;  // kKept: the browsers that still use it; kLeftAlone, kFailed: the reason
  std::string value;   // a registry key's default value (the manifest's path)
};

struct Outcome {
  doctor::Os os = doctor::Os::kLinux;
  doctor::Scope scope = doctor::Scope::kUser;
  std::filesystem::path host;
  std::vector<Step> steps;
  // install, Linux and macOS: the selected browsers that look installed (doctor's rule,
  // doctor::find_browser_profile) and the others, registered all the same.
  bool probed = false;
  std::vector<std::string> found;
  std::vector<std::string> not_found;

  size_t count(Action action) const;
};

// Refused before anything is changed: no usable HOME for a per-user location, a malformed table,
// an OS/scope the table has no rows for, no registry for the windows rows.
class InstallError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Writes the manifest of every row of the table for env.os and request.scope whose browser is
// selected (a file shared by two browsers once), and one per chrome_user_data_dirs; on Windows
// also sets each row's registry key. Each file is written to a temporary file in its directory
// and renamed over the old one, mode 0644; missing directories are created, mode 0755. A failed
// location is a kFailed step; the others are still done. Throws InstallError (or
// doctor::TableError) before changing anything when the request cannot be carried out.
Outcome install(const Request& request, const Environment& env);

// Removes what install wrote for the same rows, but only files that are ours (why_not_ours) and
// only where no browser left out of the selection also looks (then kKept). Directories stay.
Outcome uninstall(const Request& request, const Environment& env);

}  // namespace stoflow::install

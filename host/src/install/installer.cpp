#include "install/installer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "doctor/manifest_check.h"
#include "install/manifest_text.h"
#include "messaging/origins.h"

namespace stoflow::install {

namespace {

namespace fs = std::filesystem;
using doctor::Flavour;
using doctor::Os;
using doctor::Scope;
using doctor::TableRow;

constexpr const char* kUserDataLabel = "user-data";

// One manifest location: a directory (Linux, macOS) and the browser it is for.
struct Target {
  std::string label;
  Flavour flavour = Flavour::kChrome;
  fs::path dir;
  bool shared_check = false;  // uninstall: keep it when an unselected browser also looks there
};

std::string permission_hint(const Environment& env, Scope scope, const char* what) {
  if (scope != Scope::kSystem || env.privileged) return "";
  return std::string(" (a system-wide ") + what + " needs root: run it with sudo)";
}

std::vector<std::string> browsers_of(const Request& request) {
  return request.browsers.empty() ? doctor::known_browsers() : request.browsers;
}

// The table's rows for the OS and scope, or InstallError when it has none (Windows is per user).
std::vector<TableRow> scoped_rows(const std::vector<TableRow>& rows, const Environment& env,
                                  Scope scope) {
  auto scoped = doctor::rows_for(rows, env.os, scope);
  if (scoped.empty()) {
    throw InstallError(std::string("installer/browsers.tsv has no ") + doctor::to_string(env.os) +
                       " rows for the " + doctor::to_string(scope) + " scope");
  }
  return scoped;
}

// Every location, in install.sh's order: each selected browser's rows in table order, then the
// user data directories. Expanding them all first means a missing HOME stops everything before
// anything is written, as install.sh's sf_check_home does.
std::vector<Target> plan(const std::vector<TableRow>& scoped, const Request& request,
                         const Environment& env) {
  std::vector<Target> targets;
  for (const auto& browser : browsers_of(request)) {
    for (const auto& row : scoped) {
      if (row.browser != browser) continue;
      targets.push_back(
          {browser, row.flavour, doctor::expand_location(row.location, env.paths), true});
    }
  }
  for (const auto& dir : request.chrome_user_data_dirs) {
    targets.push_back({kUserDataLabel, Flavour::kChrome, dir / "NativeMessagingHosts", false});
  }
  return targets;
}

// --- files --------------------------------------------------------------------------------------

std::optional<std::string> read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return text.str();
}

// Whether `file` is a regular file (not a link) holding exactly `content`, mode 0644.
bool is_up_to_date(const fs::path& file, const std::string& content) {
  struct stat st {};
  if (::lstat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  if ((st.st_mode & 07777) != 0644) return false;
  auto text = read_text(file);
  return text && *text == content;
}

// mkdir -p with mode 0755 whatever the umask, so that every user's browser can read a system-wide
// manifest even when root's umask is 077.
bool make_directories(const fs::path& dir) {
  fs::path prefix;
  for (const auto& part : dir) {
    prefix /= part;
    std::error_code ec;
    if (fs::is_directory(prefix, ec)) continue;
    if (::mkdir(prefix.c_str(), 0755) != 0) {
      if (errno == EEXIST && fs::is_directory(prefix, ec)) continue;
      return false;
    }
    ::chmod(prefix.c_str(), 0755);
  }
  return true;
}

bool write_all(int fd, const std::string& content) {
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

struct WriteResult {
  Action action = Action::kFailed;
  std::string error;
};

// Writes `content` to dir/com.stoflow.companion.json through a temporary file in the same
// directory renamed over it, mode 0644 (install.sh's write_manifest).
WriteResult write_manifest(const fs::path& dir, const std::string& content,
                           const std::string& hint) {
  fs::path file = dir / doctor::kManifestFileName;
  std::error_code ec;
  auto status = fs::status(file, ec);
  if (fs::exists(status) && !fs::is_regular_file(status)) {
    return {Action::kFailed,
            file.string() + " exists and is not a regular file; remove it and run again"};
  }
  if (is_up_to_date(file, content)) return {Action::kUnchanged, ""};
  auto link_status = fs::symlink_status(file, ec);
  Action action = fs::exists(link_status) ? Action::kUpdated : Action::kWritten;
  if (!make_directories(dir))
    return {Action::kFailed, "cannot create directory " + dir.string() + hint};
  std::string temporary =
      (dir / ("." + std::string(doctor::kManifestFileName) + ".XXXXXX")).string();
  int fd = ::mkstemp(temporary.data());
  if (fd < 0) return {Action::kFailed, "cannot write in " + dir.string() + hint};
  bool written = write_all(fd, content) && ::fchmod(fd, 0644) == 0 && ::fsync(fd) == 0;
  written = ::close(fd) == 0 && written;
  if (written && ::rename(temporary.c_str(), file.c_str()) == 0) return {action, ""};
  ::unlink(temporary.c_str());
  return {Action::kFailed, "cannot write " + file.string() + hint};
}

// uninstall.sh's handle_target for one file that exists.
Step remove_if_ours(Step step, const fs::path& file, const std::string& used_by,
                    const std::string& hint) {
  std::error_code ec;
  if (!fs::is_regular_file(fs::status(file, ec))) {
    step.action = Action::kLeftAlone;
    step.detail = file.string() + " is not a regular file; left alone";
    return step;
  }
  auto text = read_text(file);
  std::optional<std::string> why = text ? why_not_ours(*text) : "cannot be read";
  if (why) {
    step.action = Action::kLeftAlone;
    step.detail = file.string() + " " + *why + "; left alone";
  } else if (!used_by.empty()) {
    step.action = Action::kKept;
    step.detail = used_by;
  } else if (fs::remove(file, ec) && !ec) {
    step.action = Action::kRemoved;
  } else {
    step.action = Action::kFailed;
    step.detail = "cannot remove " + file.string() + hint;
  }
  return step;
}

// The browsers left out of the selection whose rows also name `dir`, in table order.
std::string other_users_of(const fs::path& dir, const std::vector<TableRow>& scoped,
                           const std::vector<std::string>& selected, const Environment& env) {
  std::vector<std::string> others;
  for (const auto& row : scoped) {
    if (std::find(selected.begin(), selected.end(), row.browser) != selected.end()) continue;
    if (std::find(others.begin(), others.end(), row.browser) != others.end()) continue;
    try {
      if (doctor::expand_location(row.location, env.paths) == dir) others.push_back(row.browser);
    } catch (const doctor::TableError&) {
    }
  }
  std::string joined;
  for (const auto& name : others) joined += (joined.empty() ? "" : " ") + name;
  return joined;
}

// --- Windows: a manifest file per flavour, and a registry key per row ---------------------------

std::string registry_key(const TableRow& row) {
  return row.location + "\\" + messaging::kNativeHostName;
}

fs::path windows_manifest(const Environment& env, Flavour flavour) {
  return env.windows_manifest_dir / doctor::to_string(flavour) / doctor::kManifestFileName;
}

Registry& registry_of(const Environment& env) {
  if (!env.registry) throw InstallError("this stoflow-host cannot reach the Windows registry");
  return *env.registry;
}

void check_windows_request(const Request& request) {
  if (!request.chrome_user_data_dirs.empty()) {
    throw InstallError(
        "--chrome-user-data-dir does not apply on Windows, where browsers find hosts through the "
        "registry only");
  }
}

// install.ps1: each flavour's manifest once, then each row's key (a key shared by two browsers
// once) pointing at it.
Outcome install_windows(const std::vector<TableRow>& scoped, const Request& request,
                        const Environment& env, Outcome outcome) {
  check_windows_request(request);
  Registry& registry = registry_of(env);
  std::set<Flavour> manifests_done;
  std::set<Flavour> manifests_failed;
  std::set<std::string> keys_done;
  for (const auto& browser : browsers_of(request)) {
    for (const auto& row : scoped) {
      if (row.browser != browser) continue;
      fs::path manifest = windows_manifest(env, row.flavour);
      if (manifests_done.insert(row.flavour).second) {
        auto result = write_manifest(manifest.parent_path(),
                                     render_manifest(row.flavour, env.host.string()), "");
        if (result.action == Action::kFailed) manifests_failed.insert(row.flavour);
        outcome.steps.push_back({"manifest", manifest.string(), result.action, result.error, ""});
      }
      Step step{browser, registry_key(row), Action::kSameTarget, "", manifest.string()};
      if (!keys_done.insert(step.target).second) {
        outcome.steps.push_back(step);
        continue;
      }
      if (manifests_failed.contains(row.flavour)) {
        step.action = Action::kFailed;
        step.detail = "not set: its manifest " + manifest.string() + " could not be written";
      } else if (registry.default_value(step.target) == manifest.string()) {
        step.action = Action::kUnchanged;
      } else {
        try {
          registry.set_default_value(step.target, manifest.string());
          step.action = Action::kSet;
        } catch (const std::runtime_error& e) {
          step.action = Action::kFailed;
          step.detail = "cannot set " + step.target + ": " + e.what();
        }
      }
      outcome.steps.push_back(step);
    }
  }
  return outcome;
}

// install.ps1 -Uninstall: the selected rows' keys (unless an unselected browser shares one), then
// each manifest file no remaining key points to, when it is ours.
Outcome uninstall_windows(const std::vector<TableRow>& scoped, const Request& request,
                          const Environment& env, Outcome outcome) {
  check_windows_request(request);
  Registry& registry = registry_of(env);
  auto selected = browsers_of(request);
  std::set<std::string> keys_done;
  std::set<std::string> keys_gone;
  for (const auto& browser : selected) {
    for (const auto& row : scoped) {
      if (row.browser != browser) continue;
      Step step{browser, registry_key(row), Action::kSameTarget, "", ""};
      if (!keys_done.insert(step.target).second) continue;  // install.ps1 says nothing twice
      std::vector<std::string> users;
      for (const auto& other : scoped) {
        bool unselected =
            std::find(selected.begin(), selected.end(), other.browser) == selected.end();
        bool listed = std::find(users.begin(), users.end(), other.browser) != users.end();
        if (unselected && !listed && registry_key(other) == step.target) {
          users.push_back(other.browser);
        }
      }
      if (!registry.default_value(step.target)) {
        step.action = Action::kNotPresent;
      } else if (!users.empty()) {
        step.action = Action::kKept;
        for (const auto& name : users) step.detail += (step.detail.empty() ? "" : " ") + name;
      } else {
        try {
          registry.remove(step.target);
          step.action = Action::kRemoved;
          keys_gone.insert(step.target);
        } catch (const std::runtime_error& e) {
          step.action = Action::kFailed;
          step.detail = "cannot remove " + step.target + ": " + e.what();
        }
      }
      outcome.steps.push_back(step);
    }
  }
  for (Flavour flavour : {Flavour::kChrome, Flavour::kFirefox}) {
    fs::path manifest = windows_manifest(env, flavour);
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(manifest, ec))) continue;
    bool still_used = std::any_of(scoped.begin(), scoped.end(), [&](const TableRow& row) {
      return row.flavour == flavour && !keys_gone.contains(registry_key(row)) &&
             registry.default_value(registry_key(row)) == manifest.string();
    });
    Step step{"manifest", manifest.string(), Action::kKept, "", ""};
    if (still_used) {
      step.detail = "a registry key still points to it";
      outcome.steps.push_back(step);
    } else {
      outcome.steps.push_back(remove_if_ours(step, manifest, "", ""));
    }
  }
  return outcome;
}

Outcome start(const Request& request, const Environment& env) {
  Outcome outcome;
  outcome.os = env.os;
  outcome.scope = request.scope;
  outcome.host = env.host;
  return outcome;
}

}  // namespace

const char* to_string(Action action) {
  switch (action) {
    case Action::kWritten:
      return "written";
    case Action::kUpdated:
      return "updated";
    case Action::kUnchanged:
      return "unchanged";
    case Action::kSet:
      return "set";
    case Action::kRemoved:
      return "removed";
    case Action::kNotPresent:
      return "not present";
    case Action::kKept:
      return "kept";
    case Action::kLeftAlone:
      return "left alone";
    case Action::kSameTarget:
      return "(same file)";
    case Action::kFailed:
      return "failed";
  }
  return "?";
}

size_t Outcome::count(Action action) const {
  return static_cast<size_t>(
      std::count_if(steps.begin(), steps.end(), [&](const Step& s) { return s.action == action; }));
}

Outcome install(const Request& request, const Environment& env) {
  auto rows = doctor::parse_browser_table(env.table, env.table_source);
  auto scoped = scoped_rows(rows, env, request.scope);
  Outcome outcome = start(request, env);
  if (env.os == Os::kWindows) return install_windows(scoped, request, env, std::move(outcome));
  if (!env.host.is_absolute()) {
    throw InstallError("the host's path is not absolute: " + env.host.string());
  }

  auto targets = plan(scoped, request, env);
  outcome.probed = true;
  for (const auto& browser : browsers_of(request)) {
    bool found = doctor::find_browser_profile(browser, rows, env.os, env.paths).has_value();
    (found ? outcome.found : outcome.not_found).push_back(browser);
  }
  const std::string chrome = render_manifest(Flavour::kChrome, env.host.string());
  const std::string firefox = render_manifest(Flavour::kFirefox, env.host.string());
  const std::string hint = permission_hint(env, request.scope, "install");
  std::set<fs::path> done;
  for (const auto& target : targets) {
    fs::path file = target.dir / doctor::kManifestFileName;
    Step step{target.label, file.string(), Action::kSameTarget, "", ""};
    if (done.insert(file).second) {
      auto result =
          write_manifest(target.dir, target.flavour == Flavour::kChrome ? chrome : firefox, hint);
      step.action = result.action;
      step.detail = result.error;
    }
    outcome.steps.push_back(step);
  }
  return outcome;
}

Outcome uninstall(const Request& request, const Environment& env) {
  auto rows = doctor::parse_browser_table(env.table, env.table_source);
  auto scoped = scoped_rows(rows, env, request.scope);
  Outcome outcome = start(request, env);
  if (env.os == Os::kWindows) return uninstall_windows(scoped, request, env, std::move(outcome));

  auto targets = plan(scoped, request, env);
  auto selected = browsers_of(request);
  const std::string hint = permission_hint(env, request.scope, "uninstall");
  std::set<fs::path> done;
  for (const auto& target : targets) {
    fs::path file = target.dir / doctor::kManifestFileName;
    Step step{target.label, file.string(), Action::kSameTarget, "", ""};
    std::error_code ec;
    if (!done.insert(file).second) {
      outcome.steps.push_back(step);
    } else if (!fs::exists(fs::symlink_status(file, ec))) {
      step.action = Action::kNotPresent;
      outcome.steps.push_back(step);
    } else {
      std::string used_by =
          target.shared_check ? other_users_of(target.dir, scoped, selected, env) : "";
      outcome.steps.push_back(remove_if_ours(step, file, used_by, hint));
    }
  }
  return outcome;
}

}  // namespace stoflow::install

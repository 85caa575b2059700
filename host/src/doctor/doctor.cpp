#include "doctor/doctor.h"

#include <algorithm>

namespace stoflow::doctor {

namespace {

namespace fs = std::filesystem;

constexpr const char* kInstaller = "installer/install.sh";

std::string host_argument(const fs::path& self) {
  return self.empty() ? "/path/to/stoflow-host" : shell_quote(self.string());
}

Remedy remedy_for(const std::string& browser, Scope scope, const fs::path& self) {
  std::string prefix = scope == Scope::kSystem ? std::string("sudo ") + kInstaller + " --system"
                                               : std::string(kInstaller);
  std::string selection = " --browser " + browser;
  return {prefix + selection, prefix + " --host " + host_argument(self) + selection};
}

Remedy remedy_for_user_data_dir(const fs::path& dir, const fs::path& self) {
  std::string option = " --browser chrome --chrome-user-data-dir " + shell_quote(dir.string());
  return {kInstaller + option, kInstaller + std::string(" --host ") + host_argument(self) + option};
}

LocationResult check_row(const TableRow& row, const Setup& setup) {
  LocationResult location{to_string(row.scope), {}, {}};
  Remedy remedy = remedy_for(row.browser, row.scope, setup.self);
  try {
    location.directory = expand_location(row.location, setup.env);
  } catch (const TableError& e) {
    location.manifest.state = ManifestState::kBad;
    location.manifest.problems.push_back(
        {"location_unknown", e.what(), "set HOME to your home directory"});
    return location;
  }
  location.manifest =
      check_manifest(location.directory / kManifestFileName, row.flavour, setup.self, remedy);
  return location;
}

// A browser is fine when some location holds a good manifest and none holds a bad one: Chromium
// reads the per-user directory before the system one, and a bad file anywhere is ours to fix.
BrowserStatus status_of(const BrowserResult& browser) {
  auto has = [&](ManifestState state) {
    return std::any_of(browser.locations.begin(), browser.locations.end(),
                       [&](const LocationResult& l) { return l.manifest.state == state; });
  };
  if (has(ManifestState::kBad)) return BrowserStatus::kBad;
  if (has(ManifestState::kOk)) return BrowserStatus::kOk;
  return browser.installed ? BrowserStatus::kMissing : BrowserStatus::kNotInstalled;
}

void conclude(BrowserResult& browser, const Remedy& remedy) {
  browser.status = status_of(browser);
  if (browser.status == BrowserStatus::kMissing) {
    std::string where = browser.browser == kUserDataDir
                            ? browser.locations.front().directory.string()
                            : "any directory where " + browser.browser + " looks";
    browser.missing = Problem{"not_registered", "no manifest in " + where,
                              "run " + remedy.rewrite + ", then restart the browser"};
  } else if (browser.status == BrowserStatus::kNotInstalled) {
    browser.note = browser.browser + " does not look installed: nothing to fix (" + remedy.rewrite +
                   " registers it ahead of time)";
  }
}

BrowserResult check_browser(const std::string& name, const std::vector<TableRow>& rows, Os os,
                            const Setup& setup) {
  BrowserResult browser;
  browser.browser = name;
  auto profile = find_browser_profile(name, rows, os, setup.env);
  browser.installed = profile.has_value();
  browser.evidence = profile.value_or(fs::path());
  for (Scope scope : {Scope::kUser, Scope::kSystem}) {
    for (const auto& row : rows_for(rows, os, scope)) {
      if (row.browser == name) browser.locations.push_back(check_row(row, setup));
    }
  }
  conclude(browser, remedy_for(name, Scope::kUser, setup.self));
  return browser;
}

// A directory named with --chrome-user-data-dir was asked for, so it counts as installed.
BrowserResult check_user_data_dir(const fs::path& dir, const Setup& setup) {
  BrowserResult browser;
  browser.browser = kUserDataDir;
  browser.installed = true;
  browser.evidence = dir;
  Remedy remedy = remedy_for_user_data_dir(dir, setup.self);
  fs::path hosts = dir / "NativeMessagingHosts";
  browser.locations.push_back(
      {kUserDataDir, hosts,
       check_manifest(hosts / kManifestFileName, Flavour::kChrome, setup.self, remedy)});
  conclude(browser, remedy);
  return browser;
}

}  // namespace

const char* to_string(BrowserStatus status) {
  switch (status) {
    case BrowserStatus::kOk:
      return "ok";
    case BrowserStatus::kBad:
      return "bad";
    case BrowserStatus::kMissing:
      return "missing";
    case BrowserStatus::kNotInstalled:
      return "not_installed";
  }
  return "?";
}

bool Report::ok() const {
  if (database && database->failed()) return false;
  return std::none_of(browsers.begin(), browsers.end(),
                      [](const BrowserResult& b) { return b.failed(); });
}

Report diagnose(const Setup& setup) {
  Report report;
  report.os = resolve_os(setup.forced_os);
  report.self = setup.self;
  auto rows = parse_browser_table(setup.table, setup.table_source);
  auto browsers = setup.browsers.empty() ? known_browsers() : setup.browsers;
  for (const auto& name : browsers) {
    report.browsers.push_back(check_browser(name, rows, report.os, setup));
  }
  for (const auto& dir : setup.chrome_user_data_dirs) {
    report.browsers.push_back(check_user_data_dir(dir, setup));
  }
  if (setup.database) report.database = check_database(*setup.database);
  return report;
}

}  // namespace stoflow::doctor

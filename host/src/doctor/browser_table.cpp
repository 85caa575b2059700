#include "doctor/browser_table.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "doctor/browsers_tsv.h"  // generated from installer/browsers.tsv
#include "util/paths.h"

namespace stoflow::doctor {

namespace {

constexpr std::string_view kHeader = "os\tscope\tbrowser\tflavour\tlocation";
constexpr std::string_view kXdgPrefix = "$XDG_CONFIG_HOME/";

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t end = text.find(separator, start);
    parts.emplace_back(text.substr(start, end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::string strip_one_trailing_slash(std::string text) {
  if (!text.empty() && text.back() == '/') text.pop_back();
  return text;
}

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

bool is_known_browser(const std::string& name) {
  const auto& known = known_browsers();
  return std::find(known.begin(), known.end(), name) != known.end();
}

[[noreturn]] void malformed(const std::string& source, int line, const std::string& what) {
  throw TableError(source + ":" + std::to_string(line) + ": " + what);
}

Os parse_os(const std::string& text, const std::string& source, int line) {
  if (text == "linux") return Os::kLinux;
  if (text == "macos") return Os::kMacos;
  if (text == "windows") return Os::kWindows;
  malformed(source, line, "unknown os '" + text + "'");
}

Scope parse_scope(const std::string& text, const std::string& source, int line) {
  if (text == "user") return Scope::kUser;
  if (text == "system") return Scope::kSystem;
  malformed(source, line, "unknown scope '" + text + "'");
}

Flavour parse_flavour(const std::string& text, const std::string& source, int line) {
  if (text == "chrome") return Flavour::kChrome;
  if (text == "firefox") return Flavour::kFirefox;
  malformed(source, line, "unknown flavour '" + text + "'");
}

TableRow parse_row(const std::string& text, const std::string& source, int line) {
  auto fields = split(text, '\t');
  bool any_empty = std::any_of(fields.begin(), fields.end(), [](auto& f) { return f.empty(); });
  if (fields.size() != 5 || any_empty) {
    malformed(source, line, "expected 5 tab-separated fields");
  }
  if (!is_known_browser(fields[2])) malformed(source, line, "unknown browser '" + fields[2] + "'");
  return TableRow{parse_os(fields[0], source, line),
                  parse_scope(fields[1], source, line),
                  fields[2],
                  parse_flavour(fields[3], source, line),
                  fields[4],
                  line};
}

std::string require_absolute_home(const PathEnvironment& env) {
  if (!env.home || !starts_with(*env.home, "/")) {
    throw TableError("HOME must be set to an absolute directory for a per-user install");
  }
  return strip_one_trailing_slash(*env.home);
}

// Whether `dir` exists with anything in it besides `except`. The installers create the directory
// that holds NativeMessagingHosts themselves, so its mere existence proves nothing about the
// browser.
bool has_entry_besides(const std::filesystem::path& dir, const std::filesystem::path& except) {
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().filename() != except) return true;
  }
  return false;
}

// A Chromium-family browser that has run has filled its user data directory, the parent of its
// per-user NativeMessagingHosts directory (install.sh looks there for "Local State").
std::optional<std::filesystem::path> chromium_profile(const std::vector<TableRow>& user_rows,
                                                      const std::string& browser,
                                                      const PathEnvironment& env) {
  for (const auto& row : user_rows) {
    if (row.browser != browser) continue;
    std::filesystem::path dir;
    try {
      dir = expand_location(row.location, env);
    } catch (const TableError&) {
      continue;  // no usable HOME: the caller reports it on the location itself
    }
    if (has_entry_besides(dir.parent_path(), dir.filename())) return dir.parent_path();
  }
  return std::nullopt;
}

// Firefox writes profiles.ini when it first runs, in the places install.sh checks.
std::optional<std::filesystem::path> firefox_profile(Os os, const PathEnvironment& env) {
  if (!env.home || os == Os::kWindows) return std::nullopt;
  std::filesystem::path home = *env.home;
  std::vector<std::filesystem::path> candidates;
  if (os == Os::kMacos) {
    candidates.push_back(home / "Library/Application Support/Firefox/profiles.ini");
  } else {
    candidates.push_back(home / ".mozilla/firefox/profiles.ini");
    std::filesystem::path config =
        env.xdg_config_home ? std::filesystem::path(*env.xdg_config_home) : home / ".config";
    candidates.push_back(config / "mozilla/firefox/profiles.ini");
  }
  for (const auto& file : candidates) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(file, ec)) return file;
  }
  return std::nullopt;
}

}  // namespace

const char* to_string(Os os) {
  switch (os) {
    case Os::kLinux:
      return "linux";
    case Os::kMacos:
      return "macos";
    case Os::kWindows:
      return "windows";
  }
  return "?";
}

const char* to_string(Scope scope) {
  return scope == Scope::kUser ? "user" : "system";
}

const char* to_string(Flavour flavour) {
  return flavour == Flavour::kChrome ? "chrome" : "firefox";
}

const std::vector<std::string>& known_browsers() {
  static const std::vector<std::string> browsers = {"chrome", "chromium", "edge",
                                                    "brave",  "vivaldi",  "firefox"};
  return browsers;
}

std::string_view builtin_browser_table() {
  return kEmbeddedBrowsersTsv;
}

// The documented format (one tab between fields, see the table's own header comment); a CR before
// the newline is dropped, as lib.sh and install.ps1 do for a CRLF checkout.
std::vector<TableRow> parse_browser_table(std::string_view text, const std::string& source) {
  std::vector<TableRow> rows;
  bool seen_header = false;
  auto lines = split(text, '\n');
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string line = lines[i];
    int number = static_cast<int>(i + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line.front() == '#') continue;
    if (!seen_header) {
      if (line != kHeader) {
        malformed(source, number,
                  "expected the header 'os<TAB>scope<TAB>browser<TAB>flavour<TAB>location'");
      }
      seen_header = true;
      continue;
    }
    rows.push_back(parse_row(line, source, number));
  }
  if (!seen_header) throw TableError(source + ": no header row");
  return rows;
}

std::vector<TableRow> rows_for(const std::vector<TableRow>& rows, Os os, Scope scope) {
  std::vector<TableRow> selected;
  std::copy_if(rows.begin(), rows.end(), std::back_inserter(selected),
               [&](const TableRow& row) { return row.os == os && row.scope == scope; });
  return selected;
}

PathEnvironment PathEnvironment::from_process() {
  return {env("HOME"), env("XDG_CONFIG_HOME"), env("STOFLOW_INSTALL_ROOT")};
}

std::filesystem::path expand_location(const std::string& location, const PathEnvironment& env) {
  if (starts_with(location, "~/")) {
    return require_absolute_home(env) + "/" + location.substr(2);
  }
  if (starts_with(location, kXdgPrefix)) {
    std::string home = require_absolute_home(env);
    bool usable = env.xdg_config_home && starts_with(*env.xdg_config_home, "/");
    std::string config = usable ? *env.xdg_config_home : home + "/.config";
    return strip_one_trailing_slash(config) + "/" + location.substr(kXdgPrefix.size());
  }
  if (starts_with(location, "/")) return env.install_root.value_or("") + location;
  throw TableError("browser table: cannot expand location '" + location + "'");
}

std::optional<std::filesystem::path> find_browser_profile(const std::string& browser,
                                                          const std::vector<TableRow>& rows, Os os,
                                                          const PathEnvironment& env) {
  if (os == Os::kWindows) return std::nullopt;
  if (browser == "firefox") return firefox_profile(os, env);
  return chromium_profile(rows_for(rows, os, Scope::kUser), browser, env);
}

Os resolve_os(const std::optional<std::string>& forced) {
  if (forced) {
    if (*forced == "linux") return Os::kLinux;
    if (*forced == "macos") return Os::kMacos;
    throw TableError("STOFLOW_INSTALL_OS must be linux or macos, not '" + *forced + "'");
  }
#if defined(__APPLE__)
  return Os::kMacos;
#elif defined(__linux__)
  return Os::kLinux;
#else
  throw TableError("doctor checks Linux and macOS registrations only");
#endif
}

std::vector<std::string> select_browsers(const std::vector<std::string>& requested) {
  if (requested.empty()) return known_browsers();
  std::set<std::string> chosen;
  for (const auto& list : requested) {
    for (std::string name : split(list, ',')) {
      name = lowercase(name);
      if (name == "all") {
        chosen.insert(known_browsers().begin(), known_browsers().end());
      } else if (name == "google-chrome") {
        chosen.insert("chrome");
      } else if (name == "msedge" || name == "microsoft-edge") {
        chosen.insert("edge");
      } else if (is_known_browser(name)) {
        chosen.insert(name);
      } else {
        throw std::invalid_argument("unknown browser '" + name +
                                    "' (known: chrome chromium edge brave vivaldi firefox)");
      }
    }
  }
  std::vector<std::string> ordered;
  for (const auto& name : known_browsers()) {
    if (chosen.contains(name)) ordered.push_back(name);
  }
  return ordered;
}

}  // namespace stoflow::doctor

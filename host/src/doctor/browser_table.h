#pragma once
// installer/browsers.tsv, read the way installer/lib.sh reads it: which directory each browser
// searches for our native-messaging host manifest, per OS and scope. The table is compiled into the
// host (see browser_table.cmake) so that doctor and the installer can never disagree.
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace stoflow::doctor {

enum class Os { kLinux, kMacos, kWindows };
enum class Scope { kUser, kSystem };
// Which manifest template a row gets: chrome lists allowed_origins, firefox allowed_extensions.
enum class Flavour { kChrome, kFirefox };

const char* to_string(Os os);
const char* to_string(Scope scope);
const char* to_string(Flavour flavour);

struct TableRow {
  Os os;
  Scope scope;
  std::string browser;
  Flavour flavour;
  std::string location;  // a directory with ~/ or $XDG_CONFIG_HOME/ unexpanded, or a registry key
  int line = 0;          // in the table, for messages
};

class TableError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The browsers install.sh knows, in its order.
const std::vector<std::string>& known_browsers();

// installer/browsers.tsv as it was when this host was built.
std::string_view builtin_browser_table();

// Parses the table; throws TableError naming `source`:LINE on anything malformed, as lib.sh dies,
// so a broken table is never half used.
std::vector<TableRow> parse_browser_table(std::string_view text, const std::string& source);

std::vector<TableRow> rows_for(const std::vector<TableRow>& rows, Os os, Scope scope);

// The environment lib.sh expands locations with. Empty variables count as unset, as ${VAR:-} does.
struct PathEnvironment {
  std::optional<std::string> home;
  std::optional<std::string> xdg_config_home;
  std::optional<std::string> install_root;  // STOFLOW_INSTALL_ROOT, for tests of system rows

  static PathEnvironment from_process();
};

// sf_expand_location: ~/X -> $HOME/X, $XDG_CONFIG_HOME/X -> $XDG_CONFIG_HOME/X (when absolute) or
// $HOME/.config/X, /X -> $STOFLOW_INSTALL_ROOT/X. Throws TableError when HOME is needed but is not
// absolute, or for any other form.
std::filesystem::path expand_location(const std::string& location, const PathEnvironment& env);

// Whether `browser` looks installed (or to have been used) by the user of `env` on `os`, and what
// shows it: a Chromium-family user data directory (the parent of the browser's per-user
// NativeMessagingHosts directory in `rows`) holding anything besides NativeMessagingHosts, or
// Firefox's profiles.ini. Only informative: `doctor` reports a missing manifest as a failure only
// for such a browser, and `install` says which browsers it found. Nothing is known on Windows.
std::optional<std::filesystem::path> find_browser_profile(const std::string& browser,
                                                          const std::vector<TableRow>& rows, Os os,
                                                          const PathEnvironment& env);

// sf_detect_os: STOFLOW_INSTALL_OS (linux or macos) when set, else the OS this host was built for.
// Throws TableError for any other forced value, or on an OS the shell installer does not handle.
Os resolve_os(const std::optional<std::string>& forced);

// lib.sh's --browser rules: case-insensitive, comma-separated, "all", and the aliases
// google-chrome, msedge, microsoft-edge; nothing requested means all. Returns the selection once
// each, in known_browsers() order; throws std::invalid_argument on an unknown name.
std::vector<std::string> select_browsers(const std::vector<std::string>& requested);

}  // namespace stoflow::doctor

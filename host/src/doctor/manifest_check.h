#pragma once
// Checks one native-messaging host manifest file the way a browser would use it: it must parse,
// name our host, use stdio, point at an executable by absolute path, and let our extension in.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "doctor/browser_table.h"

namespace stoflow::doctor {

inline constexpr const char* kManifestFileName = "com.stoflow.companion.json";

// One thing wrong, with what to do about it. `code` is stable (JSON output, tests); `message` and
// `fix` are for people.
struct Problem {
  std::string code;
  std::string message;
  std::string fix;
};

enum class ManifestState { kMissing, kOk, kBad };
const char* to_string(ManifestState state);

struct ManifestResult {
  std::filesystem::path file;
  ManifestState state = ManifestState::kMissing;
  std::optional<std::string> host_path;     // "path" as the manifest writes it
  std::optional<bool> host_is_this_binary;  // set once the path is a usable executable
  std::vector<Problem> problems;            // empty unless kBad
};

// How to repair a registration, as shell commands, filled into each problem's `fix`.
struct Remedy {
  std::string rewrite;    // rewrites the manifest, e.g. "installer/install.sh --browser chromium"
  std::string reinstall;  // also points it at a host, e.g. "... --host /opt/x/stoflow-host"
};

// `self` is this binary (may be empty when unknown).
ManifestResult check_manifest(const std::filesystem::path& file, Flavour flavour,
                              const std::filesystem::path& self, const Remedy& remedy);

// Single-quotes `word` for a POSIX shell when it holds anything but plainly safe characters, so a
// suggested command can be pasted as is.
std::string shell_quote(const std::string& word);

}  // namespace stoflow::doctor

#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace stoflow {

// The per-user data directory (docs/protocol.md, names): $XDG_DATA_HOME/stoflow (Linux),
// ~/Library/Application Support/StoFlow (macOS), %LOCALAPPDATA%\StoFlow (Windows).
std::filesystem::path default_data_dir();

// $STOFLOW_DB wins over --db so that a browser-launched host (which gets no
// flags) and the CLI can be pointed at the same file by the environment.
std::filesystem::path resolve_db_path(const std::optional<std::string>& cli_db);

// Creates the directory (and parents) with owner-only permissions.
// `path` with `suffix` appended to its last component ("stoflow.db" +
// "-blobs"). Never path.string() + suffix: on Windows string() and the
// path's constructor convert through different code pages, and a folder
// named "Hélène" would come back as another one.
std::filesystem::path with_suffix(const std::filesystem::path& path, std::string_view suffix);

void ensure_private_dir(const std::filesystem::path& dir);

std::optional<std::string> env(const char* name);
// A whole number from the environment, or `fallback` when unset or not a number.
int64_t env_int(const char* name, int64_t fallback);

}  // namespace stoflow

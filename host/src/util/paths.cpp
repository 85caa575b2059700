#include "util/paths.h"

#include <cstdlib>
#include <stdexcept>

#include "platform/files.h"

namespace stoflow {

std::optional<std::string> env(const char* name) {
  auto value = platform::env_utf8(name);
  if (!value || value->empty()) return std::nullopt;
  return value;
}

int64_t env_int(const char* name, int64_t fallback) {
  auto value = env(name);
  if (!value) return fallback;
  try {
    size_t used = 0;
    int64_t number = std::stoll(*value, &used);
    return used == value->size() ? number : fallback;
  } catch (const std::exception&) {
    return fallback;
  }
}

std::filesystem::path default_data_dir() {
#if defined(_WIN32)
  if (auto local = env("LOCALAPPDATA")) return platform::from_utf8(*local) / "StoFlow";
  throw std::runtime_error("LOCALAPPDATA is not set");
#else
  auto home = env("HOME");
#if defined(__APPLE__)
  if (!home) throw std::runtime_error("HOME is not set");
  return platform::from_utf8(*home) / "Library" / "Application Support" / "StoFlow";
#else
  if (auto xdg = env("XDG_DATA_HOME")) return platform::from_utf8(*xdg) / "stoflow";
  if (!home) throw std::runtime_error("neither XDG_DATA_HOME nor HOME is set");
  return platform::from_utf8(*home) / ".local" / "share" / "stoflow";
#endif
#endif
}

std::filesystem::path resolve_db_path(const std::optional<std::string>& cli_db) {
  if (auto from_env = env("STOFLOW_DB")) return platform::from_utf8(*from_env);
  if (cli_db) return platform::from_utf8(*cli_db);
  return default_data_dir() / "stoflow.db";
}

std::filesystem::path with_suffix(const std::filesystem::path& path, std::string_view suffix) {
  std::filesystem::path result = path;
  result += std::string(suffix);
  return result;
}

void ensure_private_dir(const std::filesystem::path& dir) {
  if (dir.empty()) return;
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create " + dir.string() + ": " + ec.message());
  platform::make_private_dir(dir);
}

}  // namespace stoflow

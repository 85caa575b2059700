#pragma once
// Logs go to stderr and, once configured, to a size-rotated file. Never to
// stdout: in native-messaging mode stdout carries the protocol.
#include <filesystem>
#include <string>
#include <string_view>

namespace stoflow::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

struct Options {
  Level level = Level::kInfo;
  bool to_stderr = true;
  std::filesystem::path file;  // empty: no file
  size_t max_file_bytes = 2 * 1024 * 1024;
  int kept_files = 3;
};

void configure(const Options& options);
Level level_from_string(std::string_view name, Level fallback);
void write(Level level, std::string_view message);

inline void debug(std::string_view m) {
  write(Level::kDebug, m);
}
inline void info(std::string_view m) {
  write(Level::kInfo, m);
}
inline void warn(std::string_view m) {
  write(Level::kWarn, m);
}
inline void error(std::string_view m) {
  write(Level::kError, m);
}

}  // namespace stoflow::log

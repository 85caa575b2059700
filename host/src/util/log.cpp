#include "util/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <mutex>
#include <system_error>

#include "platform/files.h"
#include "util/clock.h"
#include "util/paths.h"

namespace stoflow::log {

namespace {

struct State {
  std::mutex mutex;
  Options options;
  std::FILE* file = nullptr;
  size_t file_bytes = 0;
};

State& state() {
  static State s;
  return s;
}

const char* label(Level level) {
  switch (level) {
    case Level::kDebug:
      return "DEBUG";
    case Level::kInfo:
      return "INFO";
    case Level::kWarn:
      return "WARN";
    case Level::kError:
      return "ERROR";
  }
  return "?";
}

void open_file(State& s) {
  if (s.options.file.empty()) return;
  // The log names products and queues: private, like the database.
  try {
    ensure_private_dir(s.options.file.parent_path());
  } catch (const std::exception&) {
    return;  // logging to stderr still works
  }
  int fd = platform::open_file(s.options.file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return;
  off_t size = ::lseek(fd, 0, SEEK_END);
  s.file = ::fdopen(fd, "a");
  if (!s.file) {
    ::close(fd);
    return;
  }
  s.file_bytes = size > 0 ? static_cast<size_t>(size) : 0;
}

// Rotation keeps a bounded history (file.1 … file.N) so that a host left
// running for months cannot fill the seller's disk.
void rotate(State& s) {
  std::fclose(s.file);
  s.file = nullptr;
  std::error_code ec;
  const auto& base = s.options.file;
  for (int i = s.options.kept_files - 1; i >= 1; --i) {
    auto from = with_suffix(base, "." + std::to_string(i));
    auto to = with_suffix(base, "." + std::to_string(i + 1));
    std::filesystem::rename(from, to, ec);
  }
  std::filesystem::rename(base, with_suffix(base, ".1"), ec);
  open_file(s);
}

}  // namespace

void configure(const Options& options) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  if (s.file) std::fclose(s.file);
  s.file = nullptr;
  s.options = options;
  open_file(s);
}

Level level_from_string(std::string_view name, Level fallback) {
  if (name == "debug") return Level::kDebug;
  if (name == "info") return Level::kInfo;
  if (name == "warn" || name == "warning") return Level::kWarn;
  if (name == "error") return Level::kError;
  return fallback;
}

void write(Level level, std::string_view message) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  if (level < s.options.level) return;
  std::string line = now_iso() + " " + label(level) + " [" + std::to_string(getpid()) + "] ";
  line.append(message);
  line.push_back('\n');
  if (s.options.to_stderr) {
    // fd 2 directly: unbuffered, and never the protocol stream.
    [[maybe_unused]] auto ignored = ::write(STDERR_FILENO, line.data(), line.size());
  }
  if (s.file) {
    std::fwrite(line.data(), 1, line.size(), s.file);
    std::fflush(s.file);
    s.file_bytes += line.size();
    if (s.file_bytes > s.options.max_file_bytes) rotate(s);
  }
}

}  // namespace stoflow::log

// The POSIX side of platform/files.h (Linux, macOS).
#include "platform/files.h"

#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>

namespace stoflow::platform {

int open_file(const std::filesystem::path& path, int flags, int mode) {
  return ::open(path.c_str(), flags, mode);
}

bool try_lock(int fd) {
  return ::flock(fd, LOCK_EX | LOCK_NB) == 0;
}

bool lock(int fd) {
  int locked = 0;
  do {
    locked = ::flock(fd, LOCK_EX);
  } while (locked != 0 && errno == EINTR);
  return locked == 0;
}

int sync(int fd) {
  return ::fsync(fd);
}

int64_t read_at(int fd, void* buffer, size_t size, int64_t offset) {
  return ::pread(fd, buffer, size, static_cast<off_t>(offset));
}

int64_t size_of(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return -1;
  return static_cast<int64_t>(st.st_size);
}

void touch(int fd) {
  ::futimens(fd, nullptr);
}

Named what_is_named(const std::filesystem::path& path, int fd) {
  struct stat held {};
  struct stat named {};
  if (::fstat(fd, &held) != 0) return Named::kOtherFile;
  if (::lstat(path.c_str(), &named) != 0)
    return errno == ENOENT ? Named::kNothing : Named::kOtherFile;
  bool same = held.st_dev == named.st_dev && held.st_ino == named.st_ino;
  return same ? Named::kThisFile : Named::kOtherFile;
}

void make_private_file(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) ::chmod(path.c_str(), 0600);
}

void make_private_dir(const std::filesystem::path& path) {
  ::chmod(path.c_str(), 0700);
}

std::optional<unsigned> file_mode(const std::filesystem::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return std::nullopt;
  return static_cast<unsigned>(info.st_mode & 07777);
}

std::optional<std::filesystem::path> opened_path(int fd) {
#if defined(__linux__)
  std::error_code ec;
  std::filesystem::path path =
      std::filesystem::read_symlink("/proc/self/fd/" + std::to_string(fd), ec);
  if (ec) return std::nullopt;
  return path;
#elif defined(F_GETPATH)
  char path[PATH_MAX];
  if (::fcntl(fd, F_GETPATH, path) != 0) return std::nullopt;
  return std::filesystem::path(path);
#else
  (void)fd;
  return std::nullopt;
#endif
}

bool is_executable(const std::filesystem::path& path) {
  return ::access(path.c_str(), X_OK) == 0;
}

std::string utf8(const std::filesystem::path& path) {
  return path.string();
}

std::filesystem::path from_utf8(std::string_view text) {
  return std::filesystem::path(text);
}

std::optional<std::string> env_utf8(const char* name) {
  const char* value = std::getenv(name);
  if (!value) return std::nullopt;
  return std::string(value);
}

int process_id() {
  return static_cast<int>(::getpid());
}

std::tm utc_time(std::time_t seconds) {
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return utc;
}

}  // namespace stoflow::platform

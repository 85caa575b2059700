#pragma once
// The platform layer's files: the few POSIX file operations the store, the
// log and the HTTP token need, given one meaning on POSIX (Linux, macOS) and
// on Windows. Descriptors are the C runtime's int on both sides, so ::read,
// ::write, ::fstat and ::close work on them; everything that names a file
// takes a std::filesystem::path (UTF-8 bytes on POSIX, wide characters at the
// Windows API) and never its c_str(). See "Platforms" in docs/architecture.md.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#ifdef _WIN32
// open_file's flags that Windows' C runtime lacks, with their Windows meaning:
// every descriptor is binary and not inherited (O_CLOEXEC needs no bit);
// O_NOFOLLOW refuses a symbolic link or junction (ELOOP); O_NONBLOCK has no
// use (no FIFOs in the file system); O_DIRECTORY opens a directory.
#define O_CLOEXEC 0
#define O_NOFOLLOW 0x100000
#define O_NONBLOCK 0x200000
#define O_DIRECTORY 0x400000
#endif
#ifndef S_ISSOCK
#define S_ISSOCK(mode) false
#endif
#ifndef S_ISBLK
#define S_ISBLK(mode) false
#endif

namespace stoflow::platform {

// ::open(path, flags, mode). On Windows: CreateFileW, sharing read, write and
// delete (so a file another process holds open can still be renamed or
// removed, as on POSIX), then a C runtime descriptor; mode is ignored (see
// make_private). -1 with errno on failure.
int open_file(const std::filesystem::path& path, int flags, int mode = 0600);

// flock(fd, LOCK_EX | LOCK_NB) == 0 / LockFileEx(..., FAIL_IMMEDIATELY): an
// exclusive lock the system drops when the process dies.
bool try_lock(int fd);
// flock(fd, LOCK_EX), waiting; false with errno on failure.
bool lock(int fd);
// fsync / FlushFileBuffers: 0, or -1 with errno.
int sync(int fd);
// pread: bytes read, 0 at the end, -1 with errno.
int64_t read_at(int fd, void* buffer, size_t size, int64_t offset);
// The size of the open file, or -1 with errno.
int64_t size_of(int fd);
// Sets the file's modification time to now (futimens / SetFileTime).
void touch(int fd);

enum class Named { kThisFile, kNothing, kOtherFile };
// What `path` leads to now (not following a final link), compared with the
// file open as `fd` (device and inode / volume serial and file index).
Named what_is_named(const std::filesystem::path& path, int fd);

// Owner-only access to a file or directory the process created: 0600 / 0700
// on POSIX. On Windows nothing to do: files live under the user's profile
// (%LOCALAPPDATA%), whose inherited ACL already grants only the user, SYSTEM
// and Administrators.
void make_private_file(const std::filesystem::path& path);
void make_private_dir(const std::filesystem::path& path);

// The permission bits (st_mode & 07777) of the file `path` names; nullopt
// when it cannot be read, and always on Windows, which has no such bits.
std::optional<unsigned> file_mode(const std::filesystem::path& path);

// Where the open file is now (Linux /proc/self/fd, macOS F_GETPATH, Windows
// GetFinalPathNameByHandleW); nullopt when the system cannot tell.
std::optional<std::filesystem::path> opened_path(int fd);

// Whether the file could be started as a program (access X_OK; on Windows:
// it exists and is a regular file).
bool is_executable(const std::filesystem::path& path);

// The path as UTF-8 (what SQLite, the logs and JSON take), and back.
std::string utf8(const std::filesystem::path& path);
std::filesystem::path from_utf8(std::string_view text);

// getenv, as UTF-8 (on Windows the wide environment, whatever the code page);
// nullopt when unset.
std::optional<std::string> env_utf8(const char* name);

int process_id();
// gmtime_r / gmtime_s.
std::tm utc_time(std::time_t seconds);

}  // namespace stoflow::platform

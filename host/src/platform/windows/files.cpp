// The Windows side of platform/files.h.
#include "platform/files.h"

#include <io.h>
#include <process.h>
#include <windows.h>

#include <cerrno>
#include <cstdlib>

namespace stoflow::platform {

namespace {

int errno_from(DWORD error) {
  switch (error) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_NAME:
      return ENOENT;
    case ERROR_FILE_EXISTS:
    case ERROR_ALREADY_EXISTS:
      return EEXIST;
    case ERROR_ACCESS_DENIED:
    case ERROR_SHARING_VIOLATION:
    case ERROR_LOCK_VIOLATION:
      return EACCES;
    case ERROR_HANDLE_EOF:
      return 0;
    case ERROR_DISK_FULL:
      return ENOSPC;
    default:
      return EIO;
  }
}

HANDLE handle_of(int fd) {
  return reinterpret_cast<HANDLE>(::_get_osfhandle(fd));
}

}  // namespace

int open_file(const std::filesystem::path& path, int flags, int /*mode*/) {
  DWORD access = 0;
  switch (flags & (_O_RDONLY | _O_WRONLY | _O_RDWR)) {
    case _O_WRONLY:
      access = GENERIC_WRITE;
      break;
    case _O_RDWR:
      access = GENERIC_READ | GENERIC_WRITE;
      break;
    default:
      access = GENERIC_READ;
  }
  DWORD disposition = OPEN_EXISTING;
  if ((flags & _O_CREAT) && (flags & _O_EXCL)) {
    disposition = CREATE_NEW;
  } else if ((flags & _O_CREAT) && (flags & _O_TRUNC)) {
    disposition = CREATE_ALWAYS;
  } else if (flags & _O_CREAT) {
    disposition = OPEN_ALWAYS;
  } else if (flags & _O_TRUNC) {
    disposition = TRUNCATE_EXISTING;
  }
  DWORD attributes = FILE_ATTRIBUTE_NORMAL;
  if (flags & O_DIRECTORY) attributes |= FILE_FLAG_BACKUP_SEMANTICS;
  if (flags & O_NOFOLLOW) attributes |= FILE_FLAG_OPEN_REPARSE_POINT;
  // Not inheritable (no SECURITY_ATTRIBUTES): the O_CLOEXEC of POSIX.
  HANDLE handle =
      ::CreateFileW(path.c_str(), access, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                    nullptr, disposition, attributes, nullptr);
  if (handle == INVALID_HANDLE_VALUE) {
    errno = errno_from(::GetLastError());
    return -1;
  }
  if (flags & O_NOFOLLOW) {
    BY_HANDLE_FILE_INFORMATION info{};
    if (::GetFileInformationByHandle(handle, &info) &&
        (info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)) {
      ::CloseHandle(handle);
      errno = ELOOP;
      return -1;
    }
  }
  int crt_flags = _O_BINARY;
  if ((flags & (_O_RDONLY | _O_WRONLY | _O_RDWR)) == _O_RDONLY) crt_flags |= _O_RDONLY;
  if (flags & _O_APPEND) crt_flags |= _O_APPEND;
  int fd = ::_open_osfhandle(reinterpret_cast<intptr_t>(handle), crt_flags);
  if (fd < 0) {
    ::CloseHandle(handle);
    errno = EMFILE;
  }
  return fd;
}

bool try_lock(int fd) {
  OVERLAPPED at{};
  return ::LockFileEx(handle_of(fd), LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0,
                      MAXDWORD, MAXDWORD, &at) != 0;
}

bool lock(int fd) {
  OVERLAPPED at{};
  if (::LockFileEx(handle_of(fd), LOCKFILE_EXCLUSIVE_LOCK, 0, MAXDWORD, MAXDWORD, &at)) return true;
  errno = errno_from(::GetLastError());
  return false;
}

int sync(int fd) {
  if (::FlushFileBuffers(handle_of(fd))) return 0;
  errno = errno_from(::GetLastError());
  return -1;
}

int64_t read_at(int fd, void* buffer, size_t size, int64_t offset) {
  OVERLAPPED at{};
  at.Offset = static_cast<DWORD>(static_cast<uint64_t>(offset) & 0xffffffffu);
  at.OffsetHigh = static_cast<DWORD>(static_cast<uint64_t>(offset) >> 32);
  DWORD want = size > 0x40000000 ? 0x40000000 : static_cast<DWORD>(size);
  DWORD got = 0;
  if (::ReadFile(handle_of(fd), buffer, want, &got, &at)) return got;
  DWORD error = ::GetLastError();
  if (error == ERROR_HANDLE_EOF) return 0;
  errno = errno_from(error);
  return -1;
}

int64_t size_of(int fd) {
  LARGE_INTEGER size{};
  if (::GetFileSizeEx(handle_of(fd), &size)) return size.QuadPart;
  errno = errno_from(::GetLastError());
  return -1;
}

void touch(int fd) {
  FILETIME now{};
  ::GetSystemTimeAsFileTime(&now);
  ::SetFileTime(handle_of(fd), nullptr, nullptr, &now);
}

Named what_is_named(const std::filesystem::path& path, int fd) {
  BY_HANDLE_FILE_INFORMATION held{};
  if (!::GetFileInformationByHandle(handle_of(fd), &held)) return Named::kOtherFile;
  HANDLE named = ::CreateFileW(
      path.c_str(), 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
      OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT, nullptr);
  if (named == INVALID_HANDLE_VALUE) {
    DWORD error = ::GetLastError();
    // A file removed while open (delete pending) still has its name for a while.
    if (error == ERROR_FILE_NOT_FOUND || error == ERROR_PATH_NOT_FOUND ||
        error == ERROR_ACCESS_DENIED) {
      return Named::kNothing;
    }
    return Named::kOtherFile;
  }
  BY_HANDLE_FILE_INFORMATION info{};
  bool ok = ::GetFileInformationByHandle(named, &info) != 0;
  ::CloseHandle(named);
  if (!ok) return Named::kOtherFile;
  bool same = info.dwVolumeSerialNumber == held.dwVolumeSerialNumber &&
              info.nFileIndexHigh == held.nFileIndexHigh &&
              info.nFileIndexLow == held.nFileIndexLow;
  return same ? Named::kThisFile : Named::kOtherFile;
}

void make_private_file(const std::filesystem::path&) {}
void make_private_dir(const std::filesystem::path&) {}

std::optional<unsigned> file_mode(const std::filesystem::path&) {
  return std::nullopt;
}

std::optional<std::filesystem::path> opened_path(int fd) {
  std::wstring buffer(1024, L'\0');
  DWORD n = ::GetFinalPathNameByHandleW(handle_of(fd), buffer.data(),
                                        static_cast<DWORD>(buffer.size()), FILE_NAME_NORMALIZED);
  if (n == 0 || n >= buffer.size()) return std::nullopt;
  buffer.resize(n);
  // "\\?\C:\..." as fs::canonical gives "C:\...".
  const std::wstring unc = LR"(\\?\UNC\)";
  const std::wstring local = LR"(\\?\)";
  if (buffer.rfind(unc, 0) == 0) {
    buffer = LR"(\\)" + buffer.substr(unc.size());
  } else if (buffer.rfind(local, 0) == 0) {
    buffer = buffer.substr(local.size());
  }
  return std::filesystem::path(buffer);
}

bool is_executable(const std::filesystem::path& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

std::string utf8(const std::filesystem::path& path) {
  std::u8string text = path.u8string();
  return std::string(text.begin(), text.end());
}

std::filesystem::path from_utf8(std::string_view text) {
  return std::filesystem::path(std::u8string(text.begin(), text.end()));
}

std::optional<std::string> env_utf8(const char* name) {
  std::wstring wide_name(name, name + std::char_traits<char>::length(name));
  const wchar_t* value = ::_wgetenv(wide_name.c_str());
  if (!value) return std::nullopt;
  return utf8(std::filesystem::path(value));
}

int process_id() {
  return static_cast<int>(::GetCurrentProcessId());
}

std::tm utc_time(std::time_t seconds) {
  std::tm utc{};
  gmtime_s(&utc, &seconds);
  return utc;
}

}  // namespace stoflow::platform

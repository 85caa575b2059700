#include "store/blob_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <system_error>

#include "platform/files.h"
#include "util/crypto.h"
#include "util/errors.h"
#include "util/log.h"
#include "util/paths.h"
#include "util/unique_fd.h"

namespace stoflow::store {

namespace fs = std::filesystem;

namespace {

constexpr size_t kChunk = 256 * 1024;

// "cannot create /x/tmp/ab12: Read-only file system": the OS's reason is what
// tells the seller what to fix, so every failure below carries it.
std::string os_error(const std::string& what, const fs::path& path, int err) {
  return what + " " + path.string() + ": " + std::strerror(err);
}

void write_all(int fd, const char* data, size_t size, const fs::path& where) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(os_error("cannot write", where, errno));
    if (n == 0) throw std::runtime_error(os_error("cannot write", where, EIO));
    data += n;
    size -= static_cast<size_t>(n);
  }
}

// Hashes what the descriptor's file holds, from its first byte.
std::string hash_fd(int fd, const fs::path& path) {
  Sha256 hash;
  std::array<char, kChunk> buffer{};
  int64_t offset = 0;
  for (;;) {
    int64_t n = platform::read_at(fd, buffer.data(), buffer.size(), offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(os_error("cannot read back", path, errno));
    if (n == 0) break;
    hash.update(buffer.data(), static_cast<size_t>(n));
    offset += n;
  }
  return hash.hex_digest();
}

void fsync_dir(const fs::path& dir) {
  UniqueFd fd(platform::open_file(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() >= 0) platform::sync(fd.get());
}

AppError not_an_image(const std::string& what) {
  return AppError(ErrorCode::kInvalidParams,
                  what + " is not a JPEG, PNG or WebP image (checked by its first bytes)");
}

AppError too_large(const std::string& what, int64_t size) {
  return AppError(ErrorCode::kTooLarge, what + " is " + std::to_string(size) +
                                            " bytes; photos are limited to " +
                                            std::to_string(kMaxPhotoBytes) + " bytes");
}

const char* kind_of(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "a special file";
}

}  // namespace

// A partial copy in tmp/, locked (flock) by its writer from its creation until
// it is renamed into the store or removed, so that the cleaner of any other
// process can tell a live copy from one whose writer died.
class BlobStore::TempFile {
 public:
  explicit TempFile(const fs::path& dir) {
    for (int attempt = 0; attempt < 3; ++attempt) {
      path_ = dir / random_hex(12);
      fd_ = platform::open_file(path_, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd_ < 0) throw std::runtime_error(os_error("cannot create", path_, errno));
      if (!platform::lock(fd_)) {
        int err = errno;
        discard();
        throw std::runtime_error(os_error("cannot lock", path_, err));
      }
      // A cleaner may have locked and removed the file between its creation
      // and our lock; the descriptor then points at an unlinked file, and the
      // copy would be lost at the rename. Start again under a new name.
      if (platform::what_is_named(path_, fd_) == platform::Named::kThisFile) return;
      ::close(fd_);
      fd_ = -1;
    }
    throw std::runtime_error("cannot create a temporary file in " + dir.string() +
                             ": it was removed three times while being created");
  }
  ~TempFile() { discard(); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  int fd() const { return fd_; }
  const fs::path& path() const { return path_; }
  // The name is gone (renamed into the store or removed): nothing to clean.
  void gone() { named_ = false; }

 private:
  void discard() {
    if (fd_ < 0) return;
    // Removed before the descriptor (and so the lock) is let go.
    if (named_) {
      std::error_code ec;
      fs::remove(path_, ec);
    }
    ::close(fd_);
    fd_ = -1;
  }
  fs::path path_;
  int fd_ = -1;
  bool named_ = true;
};

std::string sniff_image_type(std::string_view head) {
  auto starts = [&](std::string_view magic, size_t at = 0) {
    return head.size() >= at + magic.size() && head.substr(at, magic.size()) == magic;
  };
  if (starts("\xFF\xD8\xFF")) return "image/jpeg";
  if (starts("\x89PNG\r\n\x1A\n")) return "image/png";
  if (starts("RIFF") && starts("WEBP", 8)) return "image/webp";
  return {};
}

BlobStore::BlobStore(fs::path root) : root_(std::move(root)) {
  ensure_private_dir(root_);
  ensure_private_dir(root_ / "tmp");
  remove_abandoned_temp_files();
}

// A process killed in the middle of a copy (SIGKILL, a crash, a power cut)
// leaves its partial copy in tmp/, and nothing else would ever remove it. But
// other processes (the browser's host, another CLI, serve) may be copying into
// the same tmp/ right now, so a file is removed only when both hold:
// - no process holds its flock. Every writer locks its temp file from creation
//   until the file is renamed into the store or removed (TempFile), and the
//   kernel drops the lock when the writer dies, however it dies. The lock is
//   tried without blocking, so a start-up never waits on a live copy.
// - it was last written over kAbandonedTempAge ago: a stoflow-host older than
//   this rule copies without locking, and copies a photo in well under that.
// Best effort: a store that cannot remove them (read-only) still opens.
void BlobStore::remove_abandoned_temp_files() {
  std::error_code ec;
  fs::directory_iterator it(root_ / "tmp", ec);
  int removed = 0;
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const fs::path path = it->path();
    UniqueFd fd(platform::open_file(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (fd.get() < 0) continue;
    struct stat opened {};
    if (::fstat(fd.get(), &opened) != 0 || !S_ISREG(opened.st_mode)) continue;
    if (std::time(nullptr) - opened.st_mtime < kAbandonedTempAge.count()) continue;
    if (!platform::try_lock(fd.get())) continue;  // its writer is alive
    // Still the file we locked under that name, not one renamed there since.
    if (platform::what_is_named(path, fd.get()) != platform::Named::kThisFile) continue;
    std::error_code removal;
    if (fs::remove(path, removal)) {
      ++removed;
    } else if (removal) {
      log::warn("cannot remove the abandoned partial copy " + path.string() + ": " +
                removal.message());
    }
  }
  if (removed > 0) {
    log::info("removed " + std::to_string(removed) +
              " partial photo copies left by an interrupted import");
  }
}

fs::path BlobStore::path_for(std::string_view sha256) const {
  return root_ / std::string(sha256.substr(0, 2)) / std::string(sha256);
}

bool BlobStore::contains(std::string_view sha256) const {
  if (!is_sha256_hex(sha256)) return false;
  std::error_code ec;
  return fs::is_regular_file(path_for(sha256), ec);
}

StoredBlob BlobStore::put_file(const fs::path& source) {
  std::string what = "photo " + source.string();
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer
  // forever. put_fd then refuses anything that is not a regular file.
  UniqueFd in(platform::open_file(source, O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (in.get() < 0) {
    throw AppError(ErrorCode::kNotFound, what + " cannot be opened: " + std::strerror(errno));
  }
  return put_fd(in.get(), what);
}

StoredBlob BlobStore::put_fd(int fd, const std::string& what) {
  // Checked on the descriptor that is read, not on a name that could be
  // swapped for a FIFO or a device between the check and the read.
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    throw AppError(ErrorCode::kInvalidParams, what + " cannot be read: " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    throw invalid_params(what + " is " + kind_of(st.st_mode) + ", not a regular file");
  }
  if (st.st_size > kMaxPhotoBytes) throw too_large(what, st.st_size);

  TempFile temp(root_ / "tmp");
  Sha256 hash;
  std::string head;
  int64_t size = 0;
  std::array<char, kChunk> buffer{};
  for (;;) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      throw AppError(ErrorCode::kInvalidParams, what + " cannot be read: " + std::strerror(errno));
    }
    if (n == 0) break;
    size += n;
    // The file may grow while it is read: the limit holds on what is read.
    if (size > kMaxPhotoBytes) throw too_large(what, size);
    if (head.size() < 16) {
      head.append(buffer.data(), std::min<size_t>(static_cast<size_t>(n), 16 - head.size()));
    }
    hash.update(buffer.data(), static_cast<size_t>(n));
    write_all(temp.fd(), buffer.data(), static_cast<size_t>(n), temp.path());
  }
  if (size == 0) throw invalid_params(what + " is empty");
  // Only the bytes decide: a name ending in .jpg says nothing about a file
  // that will be uploaded to a marketplace under the seller's account.
  std::string content_type = sniff_image_type(head);
  if (content_type.empty()) throw not_an_image(what);
  if (platform::sync(temp.fd()) != 0)
    throw std::runtime_error(os_error("cannot sync", temp.path(), errno));

  std::string sha = hash.hex_digest();
  // Read back what reached the disk: the copy is what will be uploaded, long
  // after the original may have changed or gone.
  if (hash_fd(temp.fd(), temp.path()) != sha) {
    throw std::runtime_error("the copy of " + what + " is corrupt");
  }
  return commit_temp(temp, sha, size, content_type);
}

StoredBlob BlobStore::put_bytes(std::string_view bytes) {
  if (static_cast<int64_t>(bytes.size()) > kMaxPhotoBytes) {
    throw too_large("the photo", static_cast<int64_t>(bytes.size()));
  }
  std::string content_type = sniff_image_type(bytes.substr(0, 16));
  if (content_type.empty()) throw not_an_image("the downloaded file");
  TempFile temp(root_ / "tmp");
  write_all(temp.fd(), bytes.data(), bytes.size(), temp.path());
  if (platform::sync(temp.fd()) != 0)
    throw std::runtime_error(os_error("cannot sync", temp.path(), errno));
  return commit_temp(temp, sha256_hex(bytes), static_cast<int64_t>(bytes.size()), content_type);
}

// Called with the temp file still locked, so that no cleaner can remove it
// between the last write and the rename.
StoredBlob BlobStore::commit_temp(TempFile& temp, const std::string& sha256, int64_t size,
                                  const std::string& content_type) {
  fs::path final_path = path_for(sha256);
  ensure_private_dir(final_path.parent_path());
  std::error_code ec;
  if (fs::is_regular_file(final_path, ec) &&
      static_cast<int64_t>(fs::file_size(final_path, ec)) == size) {
    // Already stored: content addressing dedupes. TempFile removes the copy.
    return {sha256, size, content_type};
  }
  // Replaces a file of the wrong size left there (rename(2); MoveFileExW on Windows).
  fs::rename(temp.path(), final_path, ec);
  if (ec) {
    throw std::runtime_error("cannot store blob " + sha256 + ": cannot rename " +
                             temp.path().string() + " to " + final_path.string() + ": " +
                             ec.message());
  }
  temp.gone();
  fsync_dir(final_path.parent_path());
  return {sha256, size, content_type};
}

int64_t BlobStore::read(std::string_view sha256, int64_t offset, int64_t length,
                        std::string& out) const {
  if (!is_sha256_hex(sha256)) throw invalid_params("blob must be a lowercase SHA-256 hex digest");
  fs::path path = path_for(sha256);
  UniqueFd fd(platform::open_file(path, O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) throw not_found("blob " + std::string(sha256) + " is not stored");
    throw std::runtime_error(os_error("cannot open blob", path, errno));
  }
  int64_t total = platform::size_of(fd.get());
  if (total < 0) throw std::runtime_error(os_error("cannot size blob", path, errno));
  out.clear();
  if (offset >= total) return total;
  int64_t wanted = std::min<int64_t>(length, total - offset);
  out.resize(static_cast<size_t>(wanted));
  int64_t done = 0;
  while (done < wanted) {
    int64_t n = platform::read_at(fd.get(), out.data() + done, static_cast<size_t>(wanted - done),
                                  offset + done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(os_error("cannot read blob", path, errno));
    if (n == 0) throw std::runtime_error("blob " + path.string() + " ended early (truncated?)");
    done += n;
  }
  return total;
}

}  // namespace stoflow::store

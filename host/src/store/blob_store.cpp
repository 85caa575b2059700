#include "store/blob_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <system_error>

#include "util/crypto.h"
#include "util/errors.h"
#include "util/log.h"
#include "util/paths.h"

namespace stoflow::store {

namespace fs = std::filesystem;

namespace {

constexpr size_t kChunk = 256 * 1024;

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

void write_all(int fd, const char* data, size_t size, const fs::path& where) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error("cannot write " + where.string() + ": " + strerror(errno));
    data += n;
    size -= static_cast<size_t>(n);
  }
}

std::string hash_file(const fs::path& path) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw std::runtime_error("cannot reopen " + path.string());
  Sha256 hash;
  std::array<char, kChunk> buffer{};
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error("cannot read " + path.string());
    if (n == 0) break;
    hash.update(buffer.data(), static_cast<size_t>(n));
  }
  return hash.hex_digest();
}

void fsync_dir(const fs::path& dir) {
  FileDescriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() >= 0) ::fsync(fd.get());
}

AppError not_an_image(const std::string& what) {
  return AppError(ErrorCode::kInvalidParams,
                  what + " is not a JPEG, PNG or WebP image (checked by its first bytes)");
}

std::string image_type_from_extension(const fs::path& path) {
  std::string ext = path.extension().string();
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
  if (ext == ".png") return "image/png";
  if (ext == ".webp") return "image/webp";
  return {};
}

// The seller's own file: its bytes decide when they are a known image format;
// otherwise its name does (an export tool may write a format we do not sniff),
// and the platform has the last word when it receives the upload.
std::string local_image_type(const fs::path& path, std::string_view head, int64_t size,
                             const std::string& what) {
  if (size == 0) throw invalid_params(what + " is empty");
  std::string type = sniff_image_type(head);
  if (!type.empty()) return type;
  type = image_type_from_extension(path);
  if (type.empty()) throw not_an_image(what);
  log::warn(what + " does not start like a " + type + " file; importing it by its name");
  return type;
}

AppError too_large(const std::string& what, int64_t size) {
  return AppError(ErrorCode::kTooLarge, what + " is " + std::to_string(size) +
                                            " bytes; photos are limited to " +
                                            std::to_string(kMaxPhotoBytes) + " bytes");
}

}  // namespace

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
  FileDescriptor in(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) {
    throw AppError(ErrorCode::kNotFound, what + " cannot be opened: " + strerror(errno));
  }
  std::error_code ec;
  if (!fs::is_regular_file(source, ec)) throw invalid_params(what + " is not a regular file");

  fs::path temp = root_ / "tmp" / random_hex(12);
  FileDescriptor out(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (out.get() < 0) throw std::runtime_error("cannot create " + temp.string());
  struct TempGuard {
    fs::path path;
    bool keep = false;
    ~TempGuard() {
      std::error_code ignored;
      if (!keep) fs::remove(path, ignored);
    }
  } guard{temp};

  Sha256 hash;
  std::string head;
  int64_t size = 0;
  std::array<char, kChunk> buffer{};
  for (;;) {
    ssize_t n = ::read(in.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw AppError(ErrorCode::kInvalidParams, what + " cannot be read: " + strerror(errno));
    if (n == 0) break;
    size += n;
    if (size > kMaxPhotoBytes) throw too_large(what, size);
    if (head.size() < 16) head.append(buffer.data(), std::min<size_t>(static_cast<size_t>(n), 16));
    hash.update(buffer.data(), static_cast<size_t>(n));
    write_all(out.get(), buffer.data(), static_cast<size_t>(n), temp);
  }
  std::string content_type = local_image_type(source, head, size, what);
  if (::fsync(out.get()) != 0) throw std::runtime_error("cannot sync " + temp.string());
  ::close(out.release());

  std::string sha = hash.hex_digest();
  // Read back what reached the disk: the copy is what will be uploaded, long
  // after the original may have changed or gone.
  if (hash_file(temp) != sha) throw std::runtime_error("the copy of " + what + " is corrupt");
  guard.keep = true;
  return commit_temp(temp, sha, size, content_type);
}

StoredBlob BlobStore::put_bytes(std::string_view bytes) {
  if (static_cast<int64_t>(bytes.size()) > kMaxPhotoBytes) {
    throw too_large("the photo", static_cast<int64_t>(bytes.size()));
  }
  std::string content_type = sniff_image_type(bytes.substr(0, 16));
  if (content_type.empty()) throw not_an_image("the downloaded file");
  fs::path temp = root_ / "tmp" / random_hex(12);
  {
    FileDescriptor out(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (out.get() < 0) throw std::runtime_error("cannot create " + temp.string());
    write_all(out.get(), bytes.data(), bytes.size(), temp);
    if (::fsync(out.get()) != 0) throw std::runtime_error("cannot sync " + temp.string());
  }
  return commit_temp(temp, sha256_hex(bytes), static_cast<int64_t>(bytes.size()), content_type);
}

StoredBlob BlobStore::commit_temp(const fs::path& temp, const std::string& sha256, int64_t size,
                                  const std::string& content_type) {
  fs::path final_path = path_for(sha256);
  ensure_private_dir(final_path.parent_path());
  std::error_code ec;
  if (fs::is_regular_file(final_path, ec) &&
      static_cast<int64_t>(fs::file_size(final_path, ec)) == size) {
    fs::remove(temp, ec);  // already stored: content addressing dedupes
  } else {
    fs::rename(temp, final_path, ec);
    if (ec) {
      fs::remove(temp, ec);
      throw std::runtime_error("cannot store blob " + sha256 + ": " + ec.message());
    }
    fsync_dir(final_path.parent_path());
  }
  return {sha256, size, content_type};
}

int64_t BlobStore::read(std::string_view sha256, int64_t offset, int64_t length,
                        std::string& out) const {
  if (!is_sha256_hex(sha256)) throw invalid_params("blob must be a lowercase SHA-256 hex digest");
  FileDescriptor fd(::open(path_for(sha256).c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw not_found("blob " + std::string(sha256) + " is not stored");
  off_t total = ::lseek(fd.get(), 0, SEEK_END);
  if (total < 0) throw std::runtime_error("cannot size blob " + std::string(sha256));
  out.clear();
  if (offset >= total) return total;
  int64_t wanted = std::min<int64_t>(length, total - offset);
  out.resize(static_cast<size_t>(wanted));
  int64_t done = 0;
  while (done < wanted) {
    ssize_t n =
        ::pread(fd.get(), out.data() + done, static_cast<size_t>(wanted - done), offset + done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error("cannot read blob " + std::string(sha256));
    done += n;
  }
  return total;
}

}  // namespace stoflow::store

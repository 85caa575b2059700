#pragma once
// Content-addressed photo store: files named by their SHA-256 under the data
// dir, so queued operations never depend on the seller's original files and the
// same photo is stored once.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace stoflow::store {

struct StoredBlob {
  std::string sha256;
  int64_t size = 0;
  std::string content_type;
};

inline constexpr int64_t kMaxPhotoBytes = 20 * 1024 * 1024;

// A temp file this old whose writer is gone is removed when a store opens
// (see BlobStore::remove_abandoned_temp_files).
inline constexpr std::chrono::seconds kAbandonedTempAge{60};

// "image/jpeg", "image/png", "image/webp", or empty when the bytes are none of those.
std::string sniff_image_type(std::string_view head);

class BlobStore {
 public:
  // Creates the folders, then removes the partial copies of writers that died.
  explicit BlobStore(std::filesystem::path root);

  // Copies a local file in. Opened without blocking (a FIFO must not hang the
  // caller) and checked on the opened descriptor. Throws AppError: not a
  // regular file, too large, empty, unreadable, or its bytes are not a JPEG,
  // PNG or WebP image.
  StoredBlob put_file(const std::filesystem::path& source);
  // The same from a descriptor the caller opened (and still owns); every check
  // is made on this descriptor. `what` names the photo in error messages.
  StoredBlob put_fd(int fd, const std::string& what);
  // Stores bytes already in memory (downloads).
  StoredBlob put_bytes(std::string_view bytes);

  bool contains(std::string_view sha256) const;
  // Reads up to `length` bytes at `offset`; returns the blob's total size.
  int64_t read(std::string_view sha256, int64_t offset, int64_t length, std::string& out) const;

  std::filesystem::path path_for(std::string_view sha256) const;
  const std::filesystem::path& root() const { return root_; }

 private:
  class TempFile;
  // Removes the partial copies in tmp/ that no live writer holds.
  void remove_abandoned_temp_files();
  StoredBlob commit_temp(TempFile& temp, const std::string& sha256, int64_t size,
                         const std::string& content_type);
  std::filesystem::path root_;
};

}  // namespace stoflow::store

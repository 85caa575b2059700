#pragma once
// Content-addressed photo store: files named by their SHA-256 under the data
// dir, so queued operations never depend on the seller's original files and the
// same photo is stored once.
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

// "image/jpeg", "image/png", "image/webp", or empty when the bytes are none of those.
std::string sniff_image_type(std::string_view head);

class BlobStore {
 public:
  explicit BlobStore(std::filesystem::path root);

  // Copies a local file in. Throws AppError (too large, empty, unreadable, or
  // neither its bytes nor its name say it is a JPEG, PNG or WebP image).
  StoredBlob put_file(const std::filesystem::path& source);
  // Stores bytes already in memory (downloads).
  StoredBlob put_bytes(std::string_view bytes);

  bool contains(std::string_view sha256) const;
  // Reads up to `length` bytes at `offset`; returns the blob's total size.
  int64_t read(std::string_view sha256, int64_t offset, int64_t length, std::string& out) const;

  std::filesystem::path path_for(std::string_view sha256) const;
  const std::filesystem::path& root() const { return root_; }

 private:
  StoredBlob commit_temp(const std::filesystem::path& temp, const std::string& sha256, int64_t size,
                         const std::string& content_type);
  std::filesystem::path root_;
};

}  // namespace stoflow::store

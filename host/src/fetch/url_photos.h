#pragma once
// Downloads a catalogue's photo URLs into the blob store with libcurl:
// bounded in time, size and redirects, TLS verified, type checked by magic
// bytes. A failure names the URL and the reason; nothing is stored.
#include <cstdint>
#include <string>

#include "store/blob_store.h"

namespace stoflow::fetch {

struct FetchLimits {
  int64_t connect_timeout_ms = 10'000;
  int64_t total_timeout_ms = 60'000;
  int64_t max_bytes = store::kMaxPhotoBytes;
  long max_redirects = 5;

  // STOFLOW_FETCH_CONNECT_TIMEOUT_MS, STOFLOW_FETCH_TIMEOUT_MS (tests shorten them).
  static FetchLimits from_environment();
};

class UrlPhotoFetcher {
 public:
  UrlPhotoFetcher(store::BlobStore& blobs, FetchLimits limits);
  // Throws AppError(kFetchFailed / kTooLarge / kInvalidParams) with the URL in the message.
  store::StoredBlob fetch(const std::string& url) const;

 private:
  store::BlobStore& blobs_;
  FetchLimits limits_;
};

}  // namespace stoflow::fetch

#pragma once
// Downloads a catalogue's photo URLs into the blob store with libcurl (loaded
// at the first download, see fetch/curl_api.h): bounded in time, size and
// redirects, TLS verified, type checked by magic bytes, and only from public
// internet addresses. A failure names the URL and the reason; nothing is
// stored.
#ifdef _WIN32
#include <winsock2.h>  // sockaddr
#else
#include <sys/socket.h>
#endif

#include <cstdint>
#include <set>
#include <string>

#include "store/blob_store.h"

namespace stoflow::fetch {

struct FetchLimits {
  int64_t connect_timeout_ms = 10'000;
  int64_t total_timeout_ms = 60'000;
  int64_t max_bytes = store::kMaxPhotoBytes;
  long max_redirects = 5;
  // The test and development escape hatch from the public-address rule, as
  // STOFLOW_ALLOW_PRIVATE_PHOTO_URLS gives it: empty or "0" allows none, "1"
  // allows every address, and a comma-separated list of IP:PORT
  // ("127.0.0.1:8080,[::1]:8080") allows those only.
  std::string allow_private_addresses;

  // STOFLOW_FETCH_CONNECT_TIMEOUT_MS, STOFLOW_FETCH_TIMEOUT_MS (tests shorten
  // them), STOFLOW_ALLOW_PRIVATE_PHOTO_URLS (tests serve photos on 127.0.0.1).
  static FetchLimits from_environment();
};

// Why no seller's photo can be at this address ("a loopback address", "a
// private address", ...), or nullptr for a public internet address. IPv4 and
// IPv6, including IPv4 addresses carried in IPv6 ones (::ffff:127.0.0.1).
const char* non_public_address_kind(const sockaddr* address);
// "127.0.0.1:8080", "[::1]:8080".
std::string address_text(const sockaddr* address);

class UrlPhotoFetcher {
 public:
  UrlPhotoFetcher(store::BlobStore& blobs, FetchLimits limits);
  // Throws AppError(kFetchFailed / kTooLarge / kInvalidParams) with the URL in the message.
  store::StoredBlob fetch(const std::string& url) const;

 private:
  store::BlobStore& blobs_;
  FetchLimits limits_;
  bool allow_every_address_ = false;
  std::set<std::string> allowed_addresses_;
};

}  // namespace stoflow::fetch

#pragma once
// Downloads a catalogue's photo URLs into the blob store through the OS's
// HTTP client (fetch/http_client.h: libcurl on Linux and macOS, WinHTTP on
// Windows): bounded in time, size and redirects (followed here, at most
// max_redirects, each hop's URL parsed and its address checked again), TLS
// verified, type checked by magic bytes, and only from public internet
// addresses, checked on the address actually connected to, never through a
// proxy. A failure names the URL and the reason; nothing is stored.
#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "fetch/http_client.h"
#include "store/blob_store.h"

namespace stoflow::fetch {

struct FetchLimits {
  int64_t connect_timeout_ms = 10'000;
  int64_t total_timeout_ms = 60'000;  // for the whole download, redirects included
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

class UrlPhotoFetcher {
 public:
  // `client` null: the OS's (make_http_client()).
  UrlPhotoFetcher(store::BlobStore& blobs, FetchLimits limits,
                  std::unique_ptr<HttpClient> client = nullptr);
  // Throws AppError(kFetchFailed / kTooLarge / kInvalidParams) with the URL in the message.
  store::StoredBlob fetch(const std::string& url) const;

 private:
  std::optional<std::string> refusal(const sockaddr* peer) const;

  store::BlobStore& blobs_;
  FetchLimits limits_;
  std::unique_ptr<HttpClient> client_;
  bool allow_every_address_ = false;
  std::set<std::string> allowed_addresses_;
};

}  // namespace stoflow::fetch

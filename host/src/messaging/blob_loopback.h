#pragma once
// The fast path for photo bytes (blobs.open, docs/protocol.md): the native host
// serves a stored photo on 127.0.0.1 to the extension that started it, so the
// bytes skip the browser's slow native-messaging pipe and base64.
//
// Nothing runs until the first open(): then a listener on an ephemeral port of
// 127.0.0.1 and one thread that serves its connections one at a time. Each
// open() makes a URL with a fresh 256-bit token, valid kTokenLifetimeMs for
// that photo only. The thread never touches the database: open() checks the
// photo on the caller's thread and records its path, size and type with the
// token. Requests with a wrong Host, path, token or method get a bare
// 403/404/405. The thread and the listener end with the object.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "service/service.h"

namespace stoflow::messaging {

inline constexpr int64_t kBlobTokenLifetimeMs = 60 * 1000;

// The origin the loopback answers may be read by, from the native host's
// client: "chrome-extension://ID" for "chrome chrome-extension://ID/";
// kAnyFirefoxExtension for Firefox (its add-on id names no origin: any
// moz-extension://<UUID> origin is allowed); nullopt for other callers, which
// then have no blobs.open.
inline constexpr const char* kAnyFirefoxExtension = "moz-extension://";
std::optional<std::string> loopback_origin(const std::string& client);
// "moz-extension://" and a UUID (8-4-4-4-12 hex digits).
bool is_firefox_extension_origin(std::string_view origin);

class BlobLoopback {
 public:
  // The URLs live kBlobTokenLifetimeMs, or STOFLOW_BLOB_URL_MS (1..600000,
  // for the tests). `allowed_origin`: the Access-Control-Allow-Origin of the answers (the
  // extension origin without its trailing slash); empty sends none.
  BlobLoopback(service::Service& service, std::string allowed_origin);
  ~BlobLoopback();
  BlobLoopback(const BlobLoopback&) = delete;
  BlobLoopback& operator=(const BlobLoopback&) = delete;

  // blobs.open: {sha256} → {url, size, content_type, sha256, expires_at}.
  // Throws AppError (invalid_params, not_found) as blobs.read does.
  nlohmann::json open(const nlohmann::json& params);

  // Whether the listener runs (for the tests); 0 until the first open().
  int port() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
  service::Service& service_;
  std::string origin_;
  int64_t lifetime_ms_ = kBlobTokenLifetimeMs;
};

}  // namespace stoflow::messaging

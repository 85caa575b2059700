#include "fetch/url_photos.h"

#ifdef _WIN32
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#endif

#include <array>
#include <chrono>
#include <cstring>

#include "fetch/http_url.h"
#include "util/errors.h"
#include "util/log.h"
#include "util/paths.h"

namespace stoflow::fetch {

namespace {

AppError fetch_error(const std::string& url, const std::string& why) {
  return AppError(ErrorCode::kFetchFailed, "cannot download " + url + ": " + why,
                  nlohmann::json{{"url", url}});
}

struct Block {
  uint32_t network;
  int bits;
  const char* kind;
};

// Where no seller's photo is: this machine, the seller's own network (router
// pages, NAS, printers), cloud metadata services (169.254.169.254), and
// addresses that are not hosts at all.
constexpr std::array<Block, 14> kIpv4Blocks = {{
    {0x00000000, 8, "an unspecified address"},
    {0x0A000000, 8, "a private address"},
    {0x64400000, 10, "a shared (carrier-grade NAT) address"},
    {0x7F000000, 8, "a loopback address"},
    {0xA9FE0000, 16, "a link-local address"},
    {0xAC100000, 12, "a private address"},
    {0xC0000000, 24, "a reserved address"},
    {0xC0000200, 24, "a documentation address"},
    {0xC0A80000, 16, "a private address"},
    {0xC6120000, 15, "a reserved (benchmarking) address"},
    {0xC6336400, 24, "a documentation address"},
    {0xCB007100, 24, "a documentation address"},
    {0xE0000000, 4, "a multicast address"},
    {0xF0000000, 4, "a reserved address"},  // and 255.255.255.255, broadcast
}};

const char* ipv4_kind(uint32_t address) {
  for (const auto& block : kIpv4Blocks) {
    if ((address >> (32 - block.bits)) == (block.network >> (32 - block.bits))) return block.kind;
  }
  return nullptr;
}

uint32_t ipv4_at(const uint8_t* bytes) {
  return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) |
         uint32_t{bytes[3]};
}

const char* ipv6_kind(const uint8_t* a) {
  auto zeros = [&](int from, int to) {
    for (int i = from; i < to; ++i)
      if (a[i] != 0) return false;
    return true;
  };
  if (zeros(0, 16)) return "an unspecified address";
  if (zeros(0, 15) && a[15] == 1) return "a loopback address";
  // IPv4 carried in IPv6 reaches the IPv4 address: mapped (::ffff:a.b.c.d),
  // the old compatible form (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d) and 6to4
  // (2002:AABB:CCDD::), which routes to the IPv4 address AA.BB.CC.DD.
  if (zeros(0, 10) && a[10] == 0xff && a[11] == 0xff) return ipv4_kind(ipv4_at(a + 12));
  if (zeros(0, 12)) return ipv4_kind(ipv4_at(a + 12));
  if (a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b && zeros(4, 12)) {
    return ipv4_kind(ipv4_at(a + 12));
  }
  if (a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b && a[4] == 0 && a[5] == 1) {
    return "a private (local-use NAT64) address";
  }
  if (a[0] == 0x20 && a[1] == 0x02) return ipv4_kind(ipv4_at(a + 2));
  if (a[0] == 0xff) return "a multicast address";
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) return "a link-local address";
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) return "a site-local address";
  if ((a[0] & 0xfe) == 0xfc) return "a private (unique local) address";
  if (a[0] == 0x01 && a[1] == 0x00 && zeros(2, 8)) return "a reserved (discard) address";
  if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8) {
    return "a documentation address";
  }
  return nullptr;
}

}  // namespace

const char* non_public_address_kind(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address);
    return ipv4_kind(ntohl(in->sin_addr.s_addr));
  }
  if (address->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    return ipv6_kind(in6->sin6_addr.s6_addr);
  }
  return "not an internet address";
}

FetchLimits FetchLimits::from_environment() {
  FetchLimits limits;
  limits.connect_timeout_ms =
      env_int("STOFLOW_FETCH_CONNECT_TIMEOUT_MS", limits.connect_timeout_ms);
  limits.total_timeout_ms = env_int("STOFLOW_FETCH_TIMEOUT_MS", limits.total_timeout_ms);
  limits.allow_private_addresses = env("STOFLOW_ALLOW_PRIVATE_PHOTO_URLS").value_or("");
  return limits;
}

UrlPhotoFetcher::UrlPhotoFetcher(store::BlobStore& blobs, FetchLimits limits,
                                 std::unique_ptr<HttpClient> client)
    : blobs_(blobs),
      limits_(std::move(limits)),
      client_(client ? std::move(client) : make_http_client()) {
  const std::string& allow = limits_.allow_private_addresses;
  if (allow == "1") {
    allow_every_address_ = true;
  } else if (allow != "0") {
    size_t start = 0;
    while (start <= allow.size()) {
      size_t end = allow.find(',', start);
      if (end == std::string::npos) end = allow.size();
      std::string entry = allow.substr(start, end - start);
      entry.erase(0, entry.find_first_not_of(' '));
      entry.erase(entry.find_last_not_of(' ') + 1);
      if (!entry.empty()) allowed_addresses_.insert(entry);
      start = end + 1;
    }
  }
}

// Decides on the address the client is about to send the request to, for
// every connection of a download, each redirect's included. Checking the
// URL's host name instead would be fooled by a name that resolves to
// 127.0.0.1, or to a public address first and to a private one when it is
// resolved again (DNS rebinding): this is the address actually used.
std::optional<std::string> UrlPhotoFetcher::refusal(const sockaddr* peer) const {
  if (allow_every_address_) return std::nullopt;
  const char* kind = non_public_address_kind(peer);
  if (!kind) return std::nullopt;
  std::string where = address_text(peer);
  if (!allowed_addresses_.contains(where)) return std::string(kind);
  log::info("STOFLOW_ALLOW_PRIVATE_PHOTO_URLS lets a photo download reach " + where);
  return std::nullopt;
}

store::StoredBlob UrlPhotoFetcher::fetch(const std::string& url) const {
  using Clock = std::chrono::steady_clock;
  // The total timeout is the download's, however many redirects it takes.
  const auto deadline = Clock::now() + std::chrono::milliseconds(limits_.total_timeout_ms);
  std::string current = url;
  for (long redirects = 0;; ++redirects) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) throw fetch_error(url, "timed out");
    HttpRequest request;
    request.url = current;
    request.limits.connect_timeout_ms = limits_.connect_timeout_ms;
    request.limits.total_timeout_ms = left.count();
    request.limits.max_response_bytes = limits_.max_bytes;
    // Straight to the photo's server, never through a proxy from the
    // environment: through a proxy, the address checked would be the proxy's,
    // and the proxy would reach whatever address the URL names.
    request.proxy = ProxyUse::kNone;
    request.check_peer = [this](const sockaddr* peer) { return refusal(peer); };
    request.user_agent = "stoflow-host (photo import)";
    HttpResult result = client_->send(request);
    if (const auto* error = std::get_if<HttpError>(&result)) {
      switch (error->kind) {
        case HttpErrorKind::kRefusedAddress:
          throw fetch_error(url, "it leads to " + error->message +
                                     "; photo URLs must point to a server on the public internet");
        case HttpErrorKind::kTooLarge:
          throw AppError(ErrorCode::kTooLarge,
                         "cannot download " + url + ": larger than " +
                             std::to_string(limits_.max_bytes) + " bytes",
                         nlohmann::json{{"url", url}});
        case HttpErrorKind::kTimeout:
          throw fetch_error(url, "timed out");
        case HttpErrorKind::kBadUrl:
          if (redirects > 0) {
            throw fetch_error(url, "it redirects to " + current + ": " + error->message);
          }
          throw fetch_error(url, error->message);
        default:
          throw fetch_error(url, error->message);
      }
    }
    const auto& response = std::get<HttpResponse>(result);
    long status = response.status;
    auto location = response.header("Location");
    bool redirect =
        status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
    if (redirect && location && !location->empty()) {
      if (redirects >= limits_.max_redirects) {
        throw fetch_error(url, "more than " + std::to_string(limits_.max_redirects) + " redirects");
      }
      current = resolve_reference(current, *location);
      continue;
    }
    if (status < 200 || status >= 300)
      throw fetch_error(url, "the server answered HTTP " + std::to_string(status));
    try {
      return blobs_.put_bytes(response.body);
    } catch (const AppError& e) {
      throw AppError(e.code(), url + ": " + e.what(), nlohmann::json{{"url", url}});
    }
  }
}

}  // namespace stoflow::fetch

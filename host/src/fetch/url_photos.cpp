#include "fetch/url_photos.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <array>
#include <cstring>
#include <memory>

#include "fetch/curl_api.h"
#include "util/errors.h"
#include "util/log.h"
#include "util/paths.h"

namespace stoflow::fetch {

namespace {

struct Download {
  std::string bytes;
  int64_t max_bytes = 0;
  bool too_large = false;
};

size_t on_data(char* data, size_t size, size_t count, void* user) {
  auto* download = static_cast<Download*>(user);
  size_t n = size * count;
  if (static_cast<int64_t>(download->bytes.size() + n) > download->max_bytes) {
    download->too_large = true;
    return 0;  // makes curl stop with CURLE_WRITE_ERROR
  }
  download->bytes.append(data, n);
  return n;
}

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

// Decides on the address libcurl is about to connect to, for every connection
// of a download, redirects included. Checking the URL's host name instead
// would be fooled by a name that resolves to 127.0.0.1, or to a public
// address first and to a private one when libcurl resolves it again (DNS
// rebinding): this is the address actually used.
struct AddressGuard {
  bool allow_every_address = false;
  const std::set<std::string>* allowed = nullptr;
  std::string refused;  // the first address refused, and why
};

curl_socket_t open_checked_socket(void* user, curlsocktype, curl_sockaddr* address) {
  auto* guard = static_cast<AddressGuard*>(user);
  if (!guard->allow_every_address) {
    if (const char* kind = non_public_address_kind(&address->addr)) {
      std::string where = address_text(&address->addr);
      if (!guard->allowed->contains(where)) {
        if (guard->refused.empty()) guard->refused = where + ", " + kind;
        return CURL_SOCKET_BAD;  // libcurl tries the next address, if any
      }
      log::info("STOFLOW_ALLOW_PRIVATE_PHOTO_URLS lets a photo download reach " + where);
    }
  }
  int type = address->socktype;
#ifdef SOCK_CLOEXEC
  type |= SOCK_CLOEXEC;
#endif
  return ::socket(address->family, type, address->protocol);
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

std::string address_text(const sockaddr* address) {
  char text[INET6_ADDRSTRLEN] = {0};
  if (address->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    return std::string(text) + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (address->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    return "[" + std::string(text) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  return "address family " + std::to_string(address->sa_family);
}

FetchLimits FetchLimits::from_environment() {
  FetchLimits limits;
  limits.connect_timeout_ms =
      env_int("STOFLOW_FETCH_CONNECT_TIMEOUT_MS", limits.connect_timeout_ms);
  limits.total_timeout_ms = env_int("STOFLOW_FETCH_TIMEOUT_MS", limits.total_timeout_ms);
  limits.allow_private_addresses = env("STOFLOW_ALLOW_PRIVATE_PHOTO_URLS").value_or("");
  return limits;
}

UrlPhotoFetcher::UrlPhotoFetcher(store::BlobStore& blobs, FetchLimits limits)
    : blobs_(blobs), limits_(std::move(limits)) {
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

store::StoredBlob UrlPhotoFetcher::fetch(const std::string& url) const {
  // Loaded here, at the first download, not at start (see fetch/curl_api.h).
  const CurlApi* api = nullptr;
  try {
    api = &curl_api();
  } catch (const std::runtime_error& e) {
    throw fetch_error(url, e.what());
  }
  std::unique_ptr<CURL, decltype(api->easy_cleanup)> curl(api->easy_init(), api->easy_cleanup);
  if (!curl) throw fetch_error(url, "libcurl could not start");
  Download download;
  download.max_bytes = limits_.max_bytes;
  char error[CURL_ERROR_SIZE] = {0};
  CURL* h = curl.get();
  // Every setting is checked: libcurl is whichever libcurl.so.4 the machine
  // has, not the one the headers came from, and an older one refuses options
  // it does not know (CURLOPT_PROTOCOLS_STR is 7.85): a download without
  // its scheme, address or size limits must not happen.
  auto set = [&](const char* name, CURLoption option, auto value) {
    if (CURLcode rc = api->easy_setopt(h, option, value); rc != CURLE_OK) {
      throw fetch_error(url, std::string("this libcurl refuses ") + name + " (" +
                                 api->easy_strerror(rc) + "); libcurl 7.85 or later is needed");
    }
  };
  set("CURLOPT_URL", CURLOPT_URL, url.c_str());
  set("CURLOPT_PROTOCOLS_STR", CURLOPT_PROTOCOLS_STR, "http,https");
  set("CURLOPT_REDIR_PROTOCOLS_STR", CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  set("CURLOPT_FOLLOWLOCATION", CURLOPT_FOLLOWLOCATION, 1L);
  set("CURLOPT_MAXREDIRS", CURLOPT_MAXREDIRS, limits_.max_redirects);
  set("CURLOPT_CONNECTTIMEOUT_MS", CURLOPT_CONNECTTIMEOUT_MS,
      static_cast<long>(limits_.connect_timeout_ms));
  set("CURLOPT_TIMEOUT_MS", CURLOPT_TIMEOUT_MS, static_cast<long>(limits_.total_timeout_ms));
  set("CURLOPT_MAXFILESIZE_LARGE", CURLOPT_MAXFILESIZE_LARGE,
      static_cast<curl_off_t>(limits_.max_bytes));
  set("CURLOPT_SSL_VERIFYPEER", CURLOPT_SSL_VERIFYPEER, 1L);
  set("CURLOPT_SSL_VERIFYHOST", CURLOPT_SSL_VERIFYHOST, 2L);
  set("CURLOPT_NOSIGNAL", CURLOPT_NOSIGNAL, 1L);
  set("CURLOPT_USERAGENT", CURLOPT_USERAGENT, "stoflow-host (photo import)");
  set("CURLOPT_WRITEFUNCTION", CURLOPT_WRITEFUNCTION, on_data);
  set("CURLOPT_WRITEDATA", CURLOPT_WRITEDATA, static_cast<void*>(&download));
  set("CURLOPT_ERRORBUFFER", CURLOPT_ERRORBUFFER, static_cast<char*>(error));
  set("CURLOPT_FAILONERROR", CURLOPT_FAILONERROR, 0L);
  // Straight to the photo's server, never through a proxy from the
  // environment: through a proxy, the address checked would be the proxy's,
  // and the proxy would reach whatever address the URL names.
  set("CURLOPT_PROXY", CURLOPT_PROXY, "");
  AddressGuard guard;
  guard.allow_every_address = allow_every_address_;
  guard.allowed = &allowed_addresses_;
  set("CURLOPT_OPENSOCKETFUNCTION", CURLOPT_OPENSOCKETFUNCTION, open_checked_socket);
  set("CURLOPT_OPENSOCKETDATA", CURLOPT_OPENSOCKETDATA, static_cast<void*>(&guard));

  CURLcode rc = api->easy_perform(h);
  if (rc != CURLE_OK && !guard.refused.empty()) {
    throw fetch_error(url, "it leads to " + guard.refused +
                               "; photo URLs must point to a server on the public internet");
  }
  if (download.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
    throw AppError(
        ErrorCode::kTooLarge,
        "cannot download " + url + ": larger than " + std::to_string(limits_.max_bytes) + " bytes",
        nlohmann::json{{"url", url}});
  }
  if (rc == CURLE_TOO_MANY_REDIRECTS)
    throw fetch_error(url, "more than " + std::to_string(limits_.max_redirects) + " redirects");
  if (rc == CURLE_OPERATION_TIMEDOUT) throw fetch_error(url, "timed out");
  if (rc != CURLE_OK) throw fetch_error(url, *error ? error : api->easy_strerror(rc));
  long status = 0;
  api->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status >= 300)
    throw fetch_error(url, "the server answered HTTP " + std::to_string(status));
  try {
    return blobs_.put_bytes(download.bytes);
  } catch (const AppError& e) {
    throw AppError(e.code(), url + ": " + e.what(), nlohmann::json{{"url", url}});
  }
}

}  // namespace stoflow::fetch

#pragma once
// One synchronous HTTP client, behind which each OS has its own: libcurl on
// Linux and macOS (fetch/http_client_curl.cpp; loaded with dlopen at the first
// request, see fetch/curl_api.h, so a process that never sends one never
// loads it), WinHTTP on Windows (fetch/http_client_winhttp.cpp). Both give the
// same guarantees, which tests/unit/http_client_tests.cpp checks:
//
// - only http:// and https:// URLs (fetch/http_url.h parses them the same way
//   for both); anything else is kBadUrl before any connection;
// - TLS certificates and host names are always verified, with the OS's or the
//   TLS library's trust store; no option turns that off;
// - a connect timeout (name resolution and TCP connection) and a total one
//   for the whole exchange;
// - redirects are never followed: the caller gets the 3xx and its Location
//   and decides (resolve_reference in fetch/http_url.h), re-checking the new
//   URL as it would any other;
// - a response body larger than limits.max_response_bytes is refused
//   (kTooLarge): by its Content-Length before it is read, or when the bytes
//   read pass the cap, reading stopping there;
// - proxies: ProxyUse::kFromEnvironment takes libcurl's environment variables
//   (http_proxy, https_proxy, all_proxy, no_proxy; libcurl ignores upper-case
//   HTTP_PROXY) on Linux and macOS, and the system's proxy settings on Windows
//   (WINHTTP_ACCESS_TYPE_AUTOMATIC_PROXY: what Windows' own programs use, as
//   environment variables are not a Windows convention); kNone connects
//   straight to the URL's host. A request with a peer check always connects
//   straight, whatever it asks: through a proxy the address checked would be
//   the proxy's;
// - the peer actually connected to is reported (HttpResponse::peer) and, if
//   the request has a check_peer, checked before any byte of the request is
//   sent, on every connection attempt; a refusal is kRefusedAddress;
// - a request is sent once, on a connection of its own that is not kept:
//   a request that got no answer is never re-sent by the client (libcurl
//   re-sends one silently only on a reused connection, and none is reused;
//   WinHTTP gets a session per request and keep-alive off). The caller sees
//   kNoResponse, with request_sent saying whether any of it left, and
//   decides;
// - no cookies, no automatic authentication, no decompression, no
//   "Expect: 100-continue", HTTP/1.1: the request sent is the one given,
//   plus User-Agent, "Accept: */*" unless given, and what HTTP/1.1 itself
//   needs (Host, Content-Length; WinHTTP may add "Connection: Keep-Alive"
//   or "Close").
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "fetch/http_url.h"

#ifdef _WIN32
#include <winsock2.h>
#else
#include <sys/socket.h>
#endif

namespace stoflow::fetch {

struct HttpLimits {
  int64_t connect_timeout_ms = 10'000;
  int64_t total_timeout_ms = 60'000;
  int64_t max_response_bytes = 16 * 1024 * 1024;
};

enum class ProxyUse { kFromEnvironment, kNone };

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// Why no request may go to this peer, or nullopt to let it through.
using PeerCheck = std::function<std::optional<std::string>(const sockaddr* peer)>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  HttpHeaders headers;
  std::string
      body;  // sent with its Content-Length when not empty (or the method is POST/PUT/PATCH)
  HttpLimits limits;
  ProxyUse proxy = ProxyUse::kFromEnvironment;
  PeerCheck check_peer;
  std::string user_agent = "stoflow-host";
};

struct HttpResponse {
  long status = 0;
  HttpHeaders headers;  // of the final response (not of a 100 Continue), in order, names as sent
  std::string body;
  std::string peer;  // "93.184.216.34:443", "[2606:2800::1]:443"

  // The first header of that name, whatever its case.
  std::optional<std::string> header(std::string_view name) const;
};

enum class HttpErrorKind {
  kBadUrl,          // not an http(s) URL the clients take (fetch/http_url.h)
  kUnavailable,     // the HTTP library is missing or would not start
  kResolve,         // the host name does not resolve
  kConnect,         // no connection: refused, unreachable
  kRefusedAddress,  // check_peer refused every address the name led to
  kTls,             // the TLS handshake failed: certificate, host name, protocol
  kTimeout,         // a limit's timeout passed
  kTooLarge,        // the body is larger than limits.max_response_bytes
  kNoResponse,      // the connection ended (or broke) before a response's status line came
  kTruncated,       // a response came but its body was cut short
  kBadResponse,     // what came back is not HTTP
  kOther,
};

// "bad_url", "timeout", ... (as a log line or a JSON field would say it).
const char* kind_name(HttpErrorKind kind);

struct HttpError {
  HttpErrorKind kind = HttpErrorKind::kOther;
  // What happened, in words: the library's own where it has some. For
  // kRefusedAddress, the address refused and the check's reason
  // ("127.0.0.1:8080, a loopback address").
  std::string message;
  // Whether any byte of the request was written to a connection: the server
  // may have acted on it even without answering.
  bool request_sent = false;
  std::string peer;  // when a connection was made
};

using HttpResult = std::variant<HttpResponse, HttpError>;

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Safe to call from several threads at once. Never throws for a network
  // failure: every one is an HttpError.
  virtual HttpResult send(const HttpRequest& request) const = 0;
};

// The OS's client: libcurl's on Linux and macOS, WinHTTP's on Windows.
std::unique_ptr<HttpClient> make_http_client();

// "127.0.0.1:8080", "[::1]:8080".
std::string address_text(const sockaddr* address);

namespace detail {
// What both clients check before anything else: the URL (parsed into `url`),
// the method (an HTTP token) and the headers (token names, values without
// line breaks or NULs). An error of kind kBadUrl or kOther, or nullopt.
std::optional<HttpError> invalid_request(const HttpRequest& request, HttpUrl* url);
bool same_header_name(std::string_view a, std::string_view b);
}  // namespace detail

}  // namespace stoflow::fetch

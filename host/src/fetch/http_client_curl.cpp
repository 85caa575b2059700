// The HTTP client of Linux and macOS: libcurl, loaded at the first request
// (fetch/curl_api.h). The guarantees are fetch/http_client.h's.
#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "fetch/curl_api.h"
#include "fetch/http_client.h"

namespace stoflow::fetch {

namespace {

struct Transfer {
  int64_t max_bytes = 0;
  bool too_large = false;
  bool got_status_line = false;
  HttpResponse response;
  const PeerCheck* check = nullptr;
  std::string refused;  // the first address refused, and why
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t n = size * count;
  if (static_cast<int64_t>(transfer->response.body.size() + n) > transfer->max_bytes) {
    transfer->too_large = true;
    return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
  }
  transfer->response.body.append(data, n);
  return n;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t n = size * count;
  std::string_view line(data, n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {
    // A new response: a 100 Continue's headers are not the final one's.
    transfer->got_status_line = true;
    transfer->response.headers.clear();
  } else if (auto colon = line.find(':'); colon != std::string_view::npos && colon > 0) {
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    transfer->response.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }
  return n;
}

// Called for every address libcurl is about to connect to, redirects and
// happy-eyeballs attempts included: the check sees the address actually
// used, not what the host name resolved to once (DNS rebinding).
curl_socket_t open_socket(void* user, curlsocktype, curl_sockaddr* address) {
  auto* transfer = static_cast<Transfer*>(user);
  if (transfer->check && *transfer->check) {
    if (auto why = (*transfer->check)(&address->addr)) {
      if (transfer->refused.empty()) transfer->refused = address_text(&address->addr) + ", " + *why;
      return CURL_SOCKET_BAD;  // libcurl tries the next address, if any
    }
  }
  int type = address->socktype;
#ifdef SOCK_CLOEXEC
  type |= SOCK_CLOEXEC;
#endif
  return ::socket(address->family, type, address->protocol);
}

HttpErrorKind kind_of(CURLcode rc, bool got_status_line) {
  switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return HttpErrorKind::kBadUrl;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return HttpErrorKind::kResolve;
    case CURLE_COULDNT_CONNECT:
      return HttpErrorKind::kConnect;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_USE_SSL_FAILED:
      return HttpErrorKind::kTls;
    case CURLE_OPERATION_TIMEDOUT:
      return HttpErrorKind::kTimeout;
    case CURLE_FILESIZE_EXCEEDED:
      return HttpErrorKind::kTooLarge;
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
      return got_status_line ? HttpErrorKind::kTruncated : HttpErrorKind::kNoResponse;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_BAD_CONTENT_ENCODING:
      return HttpErrorKind::kBadResponse;
    default:
      return HttpErrorKind::kOther;
  }
}

class CurlHttpClient final : public HttpClient {
 public:
  HttpResult send(const HttpRequest& request) const override;
};

HttpResult CurlHttpClient::send(const HttpRequest& request) const {
  auto error = [](HttpErrorKind kind, std::string message) {
    HttpError e;
    e.kind = kind;
    e.message = std::move(message);
    return HttpResult(std::move(e));
  };
  if (auto invalid = detail::invalid_request(request, nullptr)) return *invalid;
  // Loaded here, at the first request, not at start (see fetch/curl_api.h).
  const CurlApi* api = nullptr;
  try {
    api = &curl_api();
  } catch (const std::runtime_error& e) {
    return error(HttpErrorKind::kUnavailable, e.what());
  }
  // A handle per request, and with it a connection cache of its own: no
  // connection is ever reused, so libcurl never re-sends a request that got
  // no answer on a connection the server had closed (it does that only on a
  // reused one). FRESH_CONNECT and FORBID_REUSE say the same should handles
  // ever be kept.
  std::unique_ptr<CURL, decltype(api->easy_cleanup)> curl(api->easy_init(), api->easy_cleanup);
  if (!curl) return error(HttpErrorKind::kUnavailable, "libcurl could not start");
  CURL* h = curl.get();
  std::unique_ptr<curl_slist, decltype(api->slist_free_all)> headers(nullptr, api->slist_free_all);
  auto add_header = [&](const std::string& line) {
    curl_slist* grown = api->slist_append(headers.get(), line.c_str());
    if (!grown) throw std::bad_alloc();
    (void)headers.release();
    headers.reset(grown);
  };
  bool has_content_type = false;
  for (const auto& [name, value] : request.headers) {
    // "Name;" is libcurl's spelling of a header sent with an empty value.
    add_header(value.empty() ? name + ";" : name + ": " + value);
    if (detail::same_header_name(name, "Content-Type")) has_content_type = true;
  }
  // libcurl's own additions that WinHTTP does not make: none of them.
  add_header("Expect:");
  if (!has_content_type) add_header("Content-Type:");

  Transfer transfer;
  transfer.max_bytes = std::max<int64_t>(request.limits.max_response_bytes, 0);
  transfer.check = &request.check_peer;
  char message[CURL_ERROR_SIZE] = {0};
  // Every setting is checked: libcurl is whichever libcurl.so.4 the machine
  // has, not the one the headers came from, and an older one refuses options
  // it does not know (CURLOPT_PROTOCOLS_STR is 7.85): a request without its
  // scheme, address or size limits must not happen.
  std::string refused_option;
  auto set = [&](const char* name, CURLoption option, auto value) {
    if (!refused_option.empty()) return;
    if (CURLcode rc = api->easy_setopt(h, option, value); rc != CURLE_OK) {
      refused_option = std::string("this libcurl refuses ") + name + " (" + api->easy_strerror(rc) +
                       "); libcurl 7.85 or later is needed";
    }
  };
  set("CURLOPT_URL", CURLOPT_URL, request.url.c_str());
  set("CURLOPT_PROTOCOLS_STR", CURLOPT_PROTOCOLS_STR, "http,https");
  set("CURLOPT_REDIR_PROTOCOLS_STR", CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  set("CURLOPT_FOLLOWLOCATION", CURLOPT_FOLLOWLOCATION, 0L);
  set("CURLOPT_HTTP_VERSION", CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  set("CURLOPT_CONNECTTIMEOUT_MS", CURLOPT_CONNECTTIMEOUT_MS,
      static_cast<long>(std::max<int64_t>(request.limits.connect_timeout_ms, 1)));
  // 0 would be no limit at all.
  set("CURLOPT_TIMEOUT_MS", CURLOPT_TIMEOUT_MS,
      static_cast<long>(std::max<int64_t>(request.limits.total_timeout_ms, 1)));
  set("CURLOPT_MAXFILESIZE_LARGE", CURLOPT_MAXFILESIZE_LARGE,
      static_cast<curl_off_t>(transfer.max_bytes));
  set("CURLOPT_SSL_VERIFYPEER", CURLOPT_SSL_VERIFYPEER, 1L);
  set("CURLOPT_SSL_VERIFYHOST", CURLOPT_SSL_VERIFYHOST, 2L);
  set("CURLOPT_NOSIGNAL", CURLOPT_NOSIGNAL, 1L);
  set("CURLOPT_FRESH_CONNECT", CURLOPT_FRESH_CONNECT, 1L);
  set("CURLOPT_FORBID_REUSE", CURLOPT_FORBID_REUSE, 1L);
  set("CURLOPT_USERAGENT", CURLOPT_USERAGENT, request.user_agent.c_str());
  set("CURLOPT_HTTPHEADER", CURLOPT_HTTPHEADER, headers.get());
  set("CURLOPT_WRITEFUNCTION", CURLOPT_WRITEFUNCTION, on_body);
  set("CURLOPT_WRITEDATA", CURLOPT_WRITEDATA, static_cast<void*>(&transfer));
  set("CURLOPT_HEADERFUNCTION", CURLOPT_HEADERFUNCTION, on_header);
  set("CURLOPT_HEADERDATA", CURLOPT_HEADERDATA, static_cast<void*>(&transfer));
  set("CURLOPT_ERRORBUFFER", CURLOPT_ERRORBUFFER, static_cast<char*>(message));
  set("CURLOPT_FAILONERROR", CURLOPT_FAILONERROR, 0L);
  set("CURLOPT_SUPPRESS_CONNECT_HEADERS", CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  // A peer check needs the peer to be the server: through a proxy it would
  // be the proxy, which would then reach whatever address the URL names.
  if (request.proxy == ProxyUse::kNone || request.check_peer) {
    set("CURLOPT_PROXY", CURLOPT_PROXY, "");
  }
  set("CURLOPT_OPENSOCKETFUNCTION", CURLOPT_OPENSOCKETFUNCTION, open_socket);
  set("CURLOPT_OPENSOCKETDATA", CURLOPT_OPENSOCKETDATA, static_cast<void*>(&transfer));
  const std::string& method = request.method;
  bool with_body =
      !request.body.empty() || method == "POST" || method == "PUT" || method == "PATCH";
  if (method == "HEAD") {
    set("CURLOPT_NOBODY", CURLOPT_NOBODY, 1L);
  } else if (with_body) {
    set("CURLOPT_POSTFIELDSIZE_LARGE", CURLOPT_POSTFIELDSIZE_LARGE,
        static_cast<curl_off_t>(request.body.size()));
    set("CURLOPT_POSTFIELDS", CURLOPT_POSTFIELDS, request.body.data());
    if (method != "POST") set("CURLOPT_CUSTOMREQUEST", CURLOPT_CUSTOMREQUEST, method.c_str());
  } else if (method != "GET") {
    set("CURLOPT_CUSTOMREQUEST", CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  if (!refused_option.empty()) return error(HttpErrorKind::kUnavailable, refused_option);

  CURLcode rc = api->easy_perform(h);

  long request_size = 0;
  api->easy_getinfo(h, CURLINFO_REQUEST_SIZE, &request_size);
  char* ip = nullptr;
  long port = 0;
  api->easy_getinfo(h, CURLINFO_PRIMARY_IP, &ip);
  api->easy_getinfo(h, CURLINFO_PRIMARY_PORT, &port);
  std::string peer;
  if (ip && *ip) {
    std::string address(ip);
    peer = (address.find(':') != std::string::npos ? "[" + address + "]" : address) + ":" +
           std::to_string(port);
  }
  if (rc != CURLE_OK) {
    HttpError e;
    e.request_sent = request_size > 0;
    e.peer = peer;
    if (!transfer.refused.empty() && !e.request_sent) {
      e.kind = HttpErrorKind::kRefusedAddress;
      e.message = transfer.refused;
    } else if (transfer.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
      e.kind = HttpErrorKind::kTooLarge;
      e.message = "larger than " + std::to_string(transfer.max_bytes) + " bytes";
    } else {
      e.kind = kind_of(rc, transfer.got_status_line);
      e.message = *message ? message : api->easy_strerror(rc);
    }
    return e;
  }
  api->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &transfer.response.status);
  transfer.response.peer = peer;
  return std::move(transfer.response);
}

}  // namespace

std::unique_ptr<HttpClient> make_http_client() {
  return std::make_unique<CurlHttpClient>();
}

}  // namespace stoflow::fetch

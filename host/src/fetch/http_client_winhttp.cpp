// The HTTP client of Windows: WinHTTP, synchronous. The guarantees are
// fetch/http_client.h's; how each is had here:
// - timeouts: WinHttpSetTimeouts bounds each step (resolution and connection
//   by connect_timeout_ms), and before every step that waits (sending,
//   the response's headers, each read of the body) its timeout is set again
//   to what is left of total_timeout_ms, the deadline checked between reads;
// - redirects: WINHTTP_OPTION_REDIRECT_POLICY_NEVER;
// - TLS: WinHTTP's default verification (certificate chain to the system's
//   roots, host name, dates); WINHTTP_OPTION_SECURITY_FLAGS is never set;
// - the size cap: Content-Length checked first, then every read counted,
//   reading stopping at the cap;
// - proxies: WINHTTP_ACCESS_TYPE_AUTOMATIC_PROXY (the system's settings,
//   Windows 8.1 and later; WINHTTP_ACCESS_TYPE_DEFAULT_PROXY before), or
//   WINHTTP_ACCESS_TYPE_NO_PROXY for ProxyUse::kNone and peer checks;
// - the peer: the IP address WINHTTP_CALLBACK_STATUS_CONNECTING_TO_SERVER
//   names (with the URL's port: there is no proxy when there is a check) is
//   checked before the connection, and WINHTTP_OPTION_CONNECTION_INFO's
//   remote address, at WINHTTP_CALLBACK_STATUS_SENDING_REQUEST, is checked
//   again and reported. A refusal closes the request handle from the
//   callback, which cancels the request before any byte of it is sent.
//   Unlike libcurl, WinHTTP then tries no other address of the name;
// - no re-sending: a session (so a connection pool) per request, keep-alive,
//   cookies and automatic authentication disabled on the request.
// winsock2.h before windows.h, and before winhttp.h, which declares
// WINHTTP_CONNECTION_INFO only once SOCKADDR_STORAGE is.
#include <winsock2.h>
#include <ws2tcpip.h>

#include <windows.h>

#include <winhttp.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>
#include <memory>

#include "fetch/http_client.h"

namespace stoflow::fetch {

namespace {

using Clock = std::chrono::steady_clock;

std::wstring wide(std::string_view text) {
  if (text.empty()) return {};
  int n = ::MultiByteToWideChar(CP_UTF8, 0, text.data(), static_cast<int>(text.size()), nullptr, 0);
  std::wstring out(static_cast<size_t>(n), L'\0');
  ::MultiByteToWideChar(CP_UTF8, 0, text.data(), static_cast<int>(text.size()), out.data(), n);
  return out;
}

std::string narrow(std::wstring_view text) {
  if (text.empty()) return {};
  int n = ::WideCharToMultiByte(CP_UTF8, 0, text.data(), static_cast<int>(text.size()), nullptr, 0,
                                nullptr, nullptr);
  std::string out(static_cast<size_t>(n), '\0');
  ::WideCharToMultiByte(CP_UTF8, 0, text.data(), static_cast<int>(text.size()), out.data(), n,
                        nullptr, nullptr);
  return out;
}

// WinHTTP's own words for one of its errors, and the number.
std::string describe(DWORD code) {
  wchar_t* text = nullptr;
  DWORD flags = FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_IGNORE_INSERTS |
                FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_FROM_HMODULE;
  DWORD n = ::FormatMessageW(flags, ::GetModuleHandleW(L"winhttp.dll"), code, 0,
                             reinterpret_cast<wchar_t*>(&text), 0, nullptr);
  std::string words;
  if (n > 0 && text) {
    words = narrow(std::wstring_view(text, n));
    while (!words.empty() &&
           (words.back() == '\n' || words.back() == '\r' || words.back() == ' ')) {
      words.pop_back();
    }
  }
  if (text) ::LocalFree(text);
  return (words.empty() ? "WinHTTP error" : words) + " (error " + std::to_string(code) + ")";
}

struct Handle {
  HINTERNET h = nullptr;
  Handle() = default;
  explicit Handle(HINTERNET handle) : h(handle) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() {
    if (h) ::WinHttpCloseHandle(h);
  }
};

struct Exchange {
  const HttpRequest* request = nullptr;
  int port = 0;
  HINTERNET request_handle = nullptr;
  bool closed_by_check = false;  // the callback closed request_handle
  bool request_started = false;  // WINHTTP_CALLBACK_STATUS_SENDING_REQUEST came
  std::string refused;
  std::string peer;
};

bool refuse(Exchange* exchange, HINTERNET handle, const sockaddr* address) {
  if (!exchange->request->check_peer) return false;
  auto why = exchange->request->check_peer(address);
  if (!why) return false;
  if (exchange->refused.empty()) exchange->refused = address_text(address) + ", " + *why;
  exchange->closed_by_check = true;
  ::WinHttpCloseHandle(handle);  // cancels the request: WinHttpSendRequest fails
  return true;
}

void CALLBACK on_status(HINTERNET handle, DWORD_PTR context, DWORD status, LPVOID info,
                        DWORD length) {
  auto* exchange = reinterpret_cast<Exchange*>(context);
  if (!exchange || exchange->closed_by_check) return;
  if (status == WINHTTP_CALLBACK_STATUS_CONNECTING_TO_SERVER && info && length > 0) {
    // The IP address about to be connected to, as text.
    std::wstring ip(static_cast<const wchar_t*>(info),
                    ::wcsnlen(static_cast<const wchar_t*>(info), length));
    sockaddr_storage storage{};
    auto* in = reinterpret_cast<sockaddr_in*>(&storage);
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    if (::InetPtonW(AF_INET, ip.c_str(), &in->sin_addr) == 1) {
      in->sin_family = AF_INET;
      in->sin_port = htons(static_cast<u_short>(exchange->port));
    } else if (::InetPtonW(AF_INET6, ip.c_str(), &in6->sin6_addr) == 1) {
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons(static_cast<u_short>(exchange->port));
    } else {
      return;  // checked on the connection itself below
    }
    refuse(exchange, handle, reinterpret_cast<const sockaddr*>(&storage));
  } else if (status == WINHTTP_CALLBACK_STATUS_SENDING_REQUEST) {
    WINHTTP_CONNECTION_INFO connection{};
    connection.cbSize = sizeof connection;
    DWORD size = sizeof connection;
    if (::WinHttpQueryOption(handle, WINHTTP_OPTION_CONNECTION_INFO, &connection, &size)) {
      const auto* remote = reinterpret_cast<const sockaddr*>(&connection.RemoteAddress);
      exchange->peer = address_text(remote);
      if (refuse(exchange, handle, remote)) return;
    } else if (exchange->request->check_peer) {
      // No address to check: nothing is sent.
      exchange->refused = "an address WinHTTP does not report";
      exchange->closed_by_check = true;
      ::WinHttpCloseHandle(handle);
      return;
    }
    exchange->request_started = true;
  }
}

HttpErrorKind kind_of(DWORD code, bool got_status_line) {
  switch (code) {
    case ERROR_WINHTTP_INVALID_URL:
    case ERROR_WINHTTP_UNRECOGNIZED_SCHEME:
      return HttpErrorKind::kBadUrl;
    case ERROR_WINHTTP_NAME_NOT_RESOLVED:
      return HttpErrorKind::kResolve;
    case ERROR_WINHTTP_CANNOT_CONNECT:
    case WSAECONNREFUSED:
    case WSAENETUNREACH:
    case WSAEHOSTUNREACH:
      return HttpErrorKind::kConnect;
    case ERROR_WINHTTP_SECURE_FAILURE:
    case ERROR_WINHTTP_SECURE_CERT_DATE_INVALID:
    case ERROR_WINHTTP_SECURE_CERT_CN_INVALID:
    case ERROR_WINHTTP_SECURE_INVALID_CA:
    case ERROR_WINHTTP_SECURE_CERT_REV_FAILED:
    case ERROR_WINHTTP_SECURE_CHANNEL_ERROR:
    case ERROR_WINHTTP_SECURE_INVALID_CERT:
    case ERROR_WINHTTP_SECURE_CERT_REVOKED:
    case ERROR_WINHTTP_SECURE_CERT_WRONG_USAGE:
    case ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED:
      return HttpErrorKind::kTls;
    case ERROR_WINHTTP_TIMEOUT:
    case WSAETIMEDOUT:
      return HttpErrorKind::kTimeout;
    // WinHTTP says "invalid server response" also when the server closed the
    // connection without a byte: without a status line it is no response.
    // Winsock's own codes come through too (Wine gives WSAECONNRESET).
    case ERROR_WINHTTP_CONNECTION_ERROR:
    case ERROR_WINHTTP_INVALID_SERVER_RESPONSE:
    case WSAECONNRESET:
    case WSAECONNABORTED:
    case ERROR_NETNAME_DELETED:
      return got_status_line ? HttpErrorKind::kTruncated : HttpErrorKind::kNoResponse;
    case ERROR_WINHTTP_HEADER_SIZE_OVERFLOW:
      return HttpErrorKind::kBadResponse;
    default:
      return HttpErrorKind::kOther;
  }
}

DWORD millis_left(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<DWORD>(std::clamp<int64_t>(left.count(), 1, INT_MAX));
}

class WinHttpClient final : public HttpClient {
 public:
  HttpResult send(const HttpRequest& request) const override;
};

HttpResult WinHttpClient::send(const HttpRequest& request) const {
  const auto start = Clock::now();
  const auto deadline =
      start + std::chrono::milliseconds(std::max<int64_t>(request.limits.total_timeout_ms, 1));
  const int64_t max_bytes = std::max<int64_t>(request.limits.max_response_bytes, 0);
  HttpUrl url;
  if (auto invalid = detail::invalid_request(request, &url)) return *invalid;

  Exchange exchange;
  exchange.request = &request;
  exchange.port = url.port;
  bool got_status_line = false;
  auto failure = [&](DWORD code, std::string where) -> HttpResult {
    HttpError e;
    e.request_sent = exchange.request_started;
    e.peer = exchange.peer;
    if (exchange.closed_by_check) {
      e.kind = HttpErrorKind::kRefusedAddress;
      e.message = exchange.refused;
      e.request_sent = false;
      return e;
    }
    if (code == ERROR_WINHTTP_TIMEOUT || Clock::now() >= deadline) {
      e.kind = HttpErrorKind::kTimeout;
      e.message =
          "timed out after " +
          std::to_string(
              std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count()) +
          " ms (" + where + ")";
      return e;
    }
    e.kind = kind_of(code, got_status_line);
    e.message = where + ": " + describe(code);
    return e;
  };

  bool direct = request.proxy == ProxyUse::kNone || static_cast<bool>(request.check_peer);
  std::wstring agent = wide(request.user_agent);
  Handle session(::WinHttpOpen(
      agent.c_str(), direct ? WINHTTP_ACCESS_TYPE_NO_PROXY : WINHTTP_ACCESS_TYPE_AUTOMATIC_PROXY,
      WINHTTP_NO_PROXY_NAME, WINHTTP_NO_PROXY_BYPASS, 0));
  if (!session.h && !direct) {
    // Before Windows 8.1: the proxy configured with netsh winhttp.
    session.h = ::WinHttpOpen(agent.c_str(), WINHTTP_ACCESS_TYPE_DEFAULT_PROXY,
                              WINHTTP_NO_PROXY_NAME, WINHTTP_NO_PROXY_BYPASS, 0);
  }
  if (!session.h) {
    HttpError e;
    e.kind = HttpErrorKind::kUnavailable;
    e.message = "WinHTTP could not start: " + describe(::GetLastError());
    return e;
  }
  int connect_ms = static_cast<int>(std::clamp<int64_t>(
      std::min<int64_t>(request.limits.connect_timeout_ms, millis_left(deadline)), 1, INT_MAX));
  int total_ms = static_cast<int>(millis_left(deadline));
  if (!::WinHttpSetTimeouts(session.h, connect_ms, connect_ms, total_ms, total_ms)) {
    return failure(::GetLastError(), "setting the timeouts");
  }
  std::wstring host = wide(url.host);
  Handle connection(
      ::WinHttpConnect(session.h, host.c_str(), static_cast<INTERNET_PORT>(url.port), 0));
  if (!connection.h) return failure(::GetLastError(), "connecting");
  std::wstring method = wide(request.method);
  std::wstring target = wide(url.target);
  DWORD open_flags = WINHTTP_FLAG_ESCAPE_DISABLE | WINHTTP_FLAG_ESCAPE_DISABLE_QUERY;
  if (url.scheme == "https") open_flags |= WINHTTP_FLAG_SECURE;
  Handle handle(::WinHttpOpenRequest(connection.h, method.c_str(), target.c_str(), nullptr,
                                     WINHTTP_NO_REFERER, WINHTTP_DEFAULT_ACCEPT_TYPES, open_flags));
  if (!handle.h) return failure(::GetLastError(), "opening the request");
  exchange.request_handle = handle.h;

  DWORD policy = WINHTTP_OPTION_REDIRECT_POLICY_NEVER;
  DWORD disabled =
      WINHTTP_DISABLE_COOKIES | WINHTTP_DISABLE_KEEP_ALIVE | WINHTTP_DISABLE_AUTHENTICATION;
  auto* context = &exchange;
  if (!::WinHttpSetOption(handle.h, WINHTTP_OPTION_REDIRECT_POLICY, &policy, sizeof policy) ||
      !::WinHttpSetOption(handle.h, WINHTTP_OPTION_DISABLE_FEATURE, &disabled, sizeof disabled) ||
      !::WinHttpSetOption(handle.h, WINHTTP_OPTION_CONTEXT_VALUE, &context, sizeof context)) {
    return failure(::GetLastError(), "setting the request's options");
  }
  if (::WinHttpSetStatusCallback(
          handle.h, on_status,
          WINHTTP_CALLBACK_FLAG_CONNECT_TO_SERVER | WINHTTP_CALLBACK_FLAG_SEND_REQUEST,
          0) == WINHTTP_INVALID_STATUS_CALLBACK) {
    return failure(::GetLastError(), "setting the status callback");
  }

  std::string header_lines;
  bool has_accept = false;
  for (const auto& [name, value] : request.headers) {
    header_lines += name + ": " + value + "\r\n";
    if (detail::same_header_name(name, "Accept")) has_accept = true;
  }
  if (!has_accept) header_lines += "Accept: */*\r\n";
  std::wstring headers = wide(header_lines);
  if (request.body.size() > 0xFFFFFFFFu) {
    HttpError e;
    e.kind = HttpErrorKind::kOther;
    e.message = "a request body of 4 GiB or more";
    return e;
  }
  auto body_size = static_cast<DWORD>(request.body.size());
  // WinHttpSetTimeouts does not cover the wait for the response's headers,
  // and WinHTTP may start that wait inside WinHttpSendRequest (Wine does).
  DWORD left = millis_left(deadline);
  ::WinHttpSetOption(handle.h, WINHTTP_OPTION_RECEIVE_RESPONSE_TIMEOUT, &left, sizeof left);
  BOOL sent = ::WinHttpSendRequest(
      handle.h, headers.c_str(), static_cast<DWORD>(headers.size()),
      body_size ? const_cast<char*>(request.body.data()) : WINHTTP_NO_REQUEST_DATA, body_size,
      body_size, 0);
  if (exchange.closed_by_check) handle.h = nullptr;  // closed by the callback already
  if (!sent) return failure(::GetLastError(), "sending the request");
  left = millis_left(deadline);
  ::WinHttpSetOption(handle.h, WINHTTP_OPTION_RECEIVE_RESPONSE_TIMEOUT, &left, sizeof left);
  ::WinHttpSetOption(handle.h, WINHTTP_OPTION_RECEIVE_TIMEOUT, &left, sizeof left);
  if (!::WinHttpReceiveResponse(handle.h, nullptr)) {
    return failure(::GetLastError(), "waiting for the response");
  }
  got_status_line = true;

  HttpResponse response;
  response.peer = exchange.peer;
  DWORD status = 0;
  DWORD size = sizeof status;
  if (!::WinHttpQueryHeaders(handle.h, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER,
                             WINHTTP_HEADER_NAME_BY_INDEX, &status, &size,
                             WINHTTP_NO_HEADER_INDEX)) {
    return failure(::GetLastError(), "reading the status");
  }
  response.status = static_cast<long>(status);
  size = 0;
  ::WinHttpQueryHeaders(handle.h, WINHTTP_QUERY_RAW_HEADERS_CRLF, WINHTTP_HEADER_NAME_BY_INDEX,
                        WINHTTP_NO_OUTPUT_BUFFER, &size, WINHTTP_NO_HEADER_INDEX);
  if (size > 0) {
    std::wstring raw(size / sizeof(wchar_t) + 1, L'\0');
    if (::WinHttpQueryHeaders(handle.h, WINHTTP_QUERY_RAW_HEADERS_CRLF,
                              WINHTTP_HEADER_NAME_BY_INDEX, raw.data(), &size,
                              WINHTTP_NO_HEADER_INDEX)) {
      raw.resize(size / sizeof(wchar_t));
      std::string text = narrow(raw);
      size_t at = text.find("\r\n");  // after the status line
      while (at != std::string::npos && at + 2 < text.size()) {
        size_t from = at + 2;
        at = text.find("\r\n", from);
        std::string_view line(text.data() + from,
                              (at == std::string::npos ? text.size() : at) - from);
        auto colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) continue;
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
          value.remove_prefix(1);
        }
        while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
          value.remove_suffix(1);
        }
        response.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
      }
    }
  }
  if (auto length = response.header("Content-Length")) {
    char* end = nullptr;
    unsigned long long declared = std::strtoull(length->c_str(), &end, 10);
    if (end != length->c_str() && declared > static_cast<unsigned long long>(max_bytes)) {
      HttpError e;
      e.kind = HttpErrorKind::kTooLarge;
      e.message = "larger than " + std::to_string(max_bytes) + " bytes";
      e.request_sent = true;
      e.peer = exchange.peer;
      return e;
    }
  }
  if (request.method == "HEAD") return response;
  std::string buffer(64 * 1024, '\0');
  for (;;) {
    if (Clock::now() >= deadline) return failure(ERROR_WINHTTP_TIMEOUT, "reading the body");
    left = millis_left(deadline);
    ::WinHttpSetOption(handle.h, WINHTTP_OPTION_RECEIVE_TIMEOUT, &left, sizeof left);
    DWORD read = 0;
    if (!::WinHttpReadData(handle.h, buffer.data(), static_cast<DWORD>(buffer.size()), &read)) {
      return failure(::GetLastError(), "reading the body");
    }
    if (read == 0) break;
    if (static_cast<int64_t>(response.body.size() + read) > max_bytes) {
      HttpError e;
      e.kind = HttpErrorKind::kTooLarge;
      e.message = "larger than " + std::to_string(max_bytes) + " bytes";
      e.request_sent = true;
      e.peer = exchange.peer;
      return e;
    }
    response.body.append(buffer.data(), read);
  }
  return response;
}

}  // namespace

std::unique_ptr<HttpClient> make_http_client() {
  return std::make_unique<WinHttpClient>();
}

}  // namespace stoflow::fetch

#include "fetch/http_client.h"

#ifdef _WIN32
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#endif

#include <algorithm>
#include <cctype>
#include <cstring>

namespace stoflow::fetch {

namespace {

bool is_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
  });
}

}  // namespace

namespace detail {

bool same_header_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::optional<HttpError> invalid_request(const HttpRequest& request, HttpUrl* url) {
  auto error = [](HttpErrorKind kind, std::string message) {
    HttpError e;
    e.kind = kind;
    e.message = std::move(message);
    return e;
  };
  std::string why;
  auto parsed = parse_http_url(request.url, &why);
  if (!parsed) return error(HttpErrorKind::kBadUrl, why);
  if (url) *url = std::move(*parsed);
  if (!is_token(request.method)) {
    return error(HttpErrorKind::kOther, "the method \"" + request.method + "\" is not a token");
  }
  for (const auto& [name, value] : request.headers) {
    if (!is_token(name) ||
        value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return error(HttpErrorKind::kOther, "the header \"" + name + "\" is not a valid header");
    }
  }
  return std::nullopt;
}

}  // namespace detail

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (detail::same_header_name(key, name)) return value;
  }
  return std::nullopt;
}

const char* kind_name(HttpErrorKind kind) {
  switch (kind) {
    case HttpErrorKind::kBadUrl:
      return "bad_url";
    case HttpErrorKind::kUnavailable:
      return "unavailable";
    case HttpErrorKind::kResolve:
      return "resolve";
    case HttpErrorKind::kConnect:
      return "connect";
    case HttpErrorKind::kRefusedAddress:
      return "refused_address";
    case HttpErrorKind::kTls:
      return "tls";
    case HttpErrorKind::kTimeout:
      return "timeout";
    case HttpErrorKind::kTooLarge:
      return "too_large";
    case HttpErrorKind::kNoResponse:
      return "no_response";
    case HttpErrorKind::kTruncated:
      return "truncated";
    case HttpErrorKind::kBadResponse:
      return "bad_response";
    case HttpErrorKind::kOther:
      break;
  }
  return "other";
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

}  // namespace stoflow::fetch

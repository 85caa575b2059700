#pragma once
// The http(s) URLs the HTTP clients take (fetch/http_client.h), parsed the
// same way on every OS before either libcurl or WinHTTP sees them, and the
// resolution of a redirect's Location against the URL that gave it (RFC 3986,
// 5.2), which the callers need because no client follows redirects itself.
#include <optional>
#include <string>
#include <string_view>

namespace stoflow::fetch {

struct HttpUrl {
  std::string scheme;  // "http" or "https", lower case
  std::string host;    // a name or an IPv4 literal; an IPv6 literal without its brackets
  bool ipv6_literal = false;
  int port = 0;        // the URL's port, or 80 / 443
  std::string target;  // path and query as sent in the request line: "/" at least, no fragment
};

// `url` as an absolute http:// or https:// URL (the scheme in any case), or
// nullopt with the reason in `why`: another scheme, no host, a port that is
// not 1-65535, a user name or password ("user:pw@host", which neither client
// would handle the same way: send an Authorization header), spaces or control
// characters.
std::optional<HttpUrl> parse_http_url(std::string_view url, std::string* why);

// `reference` (a Location header: absolute, "//host/...", "/path", "path",
// "?query") resolved against the absolute URL `base`, dot segments removed;
// the fragment of neither is kept.
std::string resolve_reference(std::string_view base, std::string_view reference);

}  // namespace stoflow::fetch

#include "fetch/http_url.h"

#include <algorithm>
#include <cctype>

namespace stoflow::fetch {

namespace {

char lower(char c) {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

struct Parts {
  std::optional<std::string> scheme;
  std::optional<std::string> authority;
  std::string path;
  std::optional<std::string> query;
};

// RFC 3986, appendix B, without the fragment.
Parts split(std::string_view text) {
  Parts parts;
  if (auto hash = text.find('#'); hash != std::string_view::npos) text = text.substr(0, hash);
  auto colon = text.find(':');
  auto first_delimiter = text.find_first_of("/?");
  if (colon != std::string_view::npos && colon > 0 &&
      (first_delimiter == std::string_view::npos || colon < first_delimiter) &&
      std::isalpha(static_cast<unsigned char>(text[0]))) {
    std::string_view scheme = text.substr(0, colon);
    bool valid = std::all_of(scheme.begin(), scheme.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
    });
    if (valid) {
      parts.scheme = std::string(scheme);
      text = text.substr(colon + 1);
    }
  }
  if (text.starts_with("//")) {
    text = text.substr(2);
    auto end = text.find_first_of("/?");
    parts.authority = std::string(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end);
  }
  auto question = text.find('?');
  parts.path = std::string(text.substr(0, question));
  if (question != std::string_view::npos) parts.query = std::string(text.substr(question + 1));
  return parts;
}

// RFC 3986, 5.2.4.
std::string remove_dot_segments(std::string input) {
  std::string output;
  while (!input.empty()) {
    if (input.starts_with("../")) {
      input.erase(0, 3);
    } else if (input.starts_with("./")) {
      input.erase(0, 2);
    } else if (input.starts_with("/./")) {
      input.erase(0, 2);
    } else if (input == "/.") {
      input = "/";
    } else if (input.starts_with("/../") || input == "/..") {
      input = input == "/.." ? "/" : input.substr(3);
      auto last = output.rfind('/');
      output.erase(last == std::string::npos ? 0 : last);
    } else if (input == "." || input == "..") {
      input.clear();
    } else {
      auto next = input.find('/', input[0] == '/' ? 1 : 0);
      output += input.substr(0, next);
      input.erase(0, next == std::string::npos ? input.size() : next);
    }
  }
  return output;
}

std::string join(const Parts& parts) {
  std::string out;
  if (parts.scheme) out += *parts.scheme + ":";
  if (parts.authority) out += "//" + *parts.authority;
  out += parts.path;
  if (parts.query) out += "?" + *parts.query;
  return out;
}

}  // namespace

std::optional<HttpUrl> parse_http_url(std::string_view url, std::string* why) {
  auto fail = [&](std::string reason) -> std::optional<HttpUrl> {
    if (why) *why = std::move(reason);
    return std::nullopt;
  };
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return fail("the URL holds a space or a control character");
    }
  }
  Parts parts = split(url);
  if (!parts.scheme) return fail("not an absolute URL");
  HttpUrl out;
  out.scheme = *parts.scheme;
  std::transform(out.scheme.begin(), out.scheme.end(), out.scheme.begin(), lower);
  if (out.scheme != "http" && out.scheme != "https") {
    return fail("the scheme " + *parts.scheme + " is not supported: only http and https are");
  }
  if (!parts.authority || parts.authority->empty()) return fail("the URL names no host");
  std::string_view authority = *parts.authority;
  if (authority.find('@') != std::string_view::npos) {
    return fail("a user name or password in the URL is not supported");
  }
  std::string_view port_text;
  if (authority.starts_with("[")) {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return fail("an IPv6 address without its closing ]");
    out.host = std::string(authority.substr(1, close - 1));
    out.ipv6_literal = true;
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && rest[0] != ':') return fail("characters after the IPv6 address");
    if (!rest.empty()) port_text = rest.substr(1);
    bool hex = !out.host.empty() && std::all_of(out.host.begin(), out.host.end(), [](char c) {
      return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
    });
    if (!hex) return fail("an IPv6 address that is not one");
  } else {
    auto colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (out.host.empty()) return fail("the URL names no host");
  out.port = out.scheme == "https" ? 443 : 80;
  if (authority.back() == ':') return fail("an empty port");
  if (!port_text.empty()) {
    if (port_text.size() > 5 || !std::all_of(port_text.begin(), port_text.end(),
                                             [](char c) { return c >= '0' && c <= '9'; })) {
      return fail("the port " + std::string(port_text) + " is not a number from 1 to 65535");
    }
    out.port = std::stoi(std::string(port_text));
    if (out.port < 1 || out.port > 65535) {
      return fail("the port " + std::string(port_text) + " is not a number from 1 to 65535");
    }
  }
  out.target = parts.path.empty() ? "/" : parts.path;
  if (parts.query) out.target += "?" + *parts.query;
  return out;
}

std::string resolve_reference(std::string_view base_text, std::string_view reference) {
  Parts base = split(base_text);
  Parts ref = split(reference);
  Parts target;
  if (ref.scheme) {
    target = ref;
    target.path = remove_dot_segments(ref.path);
  } else {
    target.scheme = base.scheme;
    if (ref.authority) {
      target.authority = ref.authority;
      target.path = remove_dot_segments(ref.path);
      target.query = ref.query;
    } else {
      target.authority = base.authority;
      if (ref.path.empty()) {
        target.path = base.path;
        target.query = ref.query ? ref.query : base.query;
      } else {
        if (ref.path.starts_with("/")) {
          target.path = remove_dot_segments(ref.path);
        } else {
          // RFC 3986, 5.2.3: merge with the base path.
          std::string merged;
          if (base.authority && base.path.empty()) {
            merged = "/" + ref.path;
          } else {
            auto slash = base.path.rfind('/');
            merged = (slash == std::string::npos ? std::string() : base.path.substr(0, slash + 1)) +
                     ref.path;
          }
          target.path = remove_dot_segments(merged);
        }
        target.query = ref.query;
      }
    }
  }
  return join(target);
}

}  // namespace stoflow::fetch

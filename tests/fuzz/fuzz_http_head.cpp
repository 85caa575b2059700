// Fuzzes the request screener's head parser (http::RequestHead), which reads
// the headers of every connection to `serve` before any worker or any token
// check: the Content-Length it finds decides how many bytes the screener
// waits for and how many httplib may read. The head is the input up to its
// first blank line ("\r\n\r\n", where the screener cuts it), or the whole input
// with one appended. The http target covers the screener and the server
// around it over real sockets.
//
// Invariants, each a trap when broken (ASan and UBSan watch the string_view
// arithmetic):
//  - a header value is one trimmed line as httplib cuts lines (at LF; a line
//    not ending in CRLF is skipped): no LF, no leading or trailing space or
//    tab, and it is found in the head as given;
//  - header names match in any case;
//  - content_length() is strtoull of the Content-Length value, 0 without one,
//    as httplib reads it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "http/request_screener.h"

using namespace stoflow;

namespace {

std::string with_case(std::string name, bool upper) {
  for (auto& c : name) {
    c = static_cast<char>(upper ? std::toupper(static_cast<unsigned char>(c))
                                : std::tolower(static_cast<unsigned char>(c)));
  }
  return name;
}

// The name of the head's second line (its first header), to look that one up too.
std::string first_header_name(const std::string& head) {
  size_t start = head.find("\r\n");
  if (start == std::string::npos) return {};
  start += 2;
  size_t colon = head.find(':', start);
  size_t end = head.find("\r\n", start);
  if (colon == std::string::npos || colon > end) return {};
  return head.substr(start, colon - start);
}

void check_value(const http::RequestHead& head, const std::string& text, const std::string& name) {
  std::string value = head.header(name);
  // One line as httplib cuts them: no LF. A CR before the line's own CRLF is
  // part of the value for httplib too ("Bearer x\r\r\n"), so it is kept here.
  if (value.find('\n') != std::string::npos) {
    fuzz::fail("a header value spans lines", name + ": " + value);
  }
  if (!value.empty() && (value.front() == ' ' || value.front() == '\t' || value.back() == ' ' ||
                         value.back() == '\t')) {
    fuzz::fail("a header value is not trimmed", name + ": [" + value + "]");
  }
  if (text.find(value) == std::string::npos) fuzz::fail("a header value not in the head", value);
  if (head.header(with_case(name, true)) != value || head.header(with_case(name, false)) != value) {
    fuzz::fail("a header name matched in one case and not another", name);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  size_t end = text.find("\r\n\r\n");
  text = end == std::string::npos ? text + "\r\n\r\n" : text.substr(0, end + 4);
  http::RequestHead head(text);

  std::vector<std::string> names = {"Content-Length",    "Host",   "Authorization",
                                    "X-StoFlow-Session", "Expect", "Transfer-Encoding"};
  if (auto name = first_header_name(text); !name.empty()) names.push_back(name);
  for (const auto& name : names) check_value(head, text, name);

  std::string length = head.header("Content-Length");
  uint64_t expected = length.empty() ? 0 : std::strtoull(length.c_str(), nullptr, 10);
  if (head.content_length() != expected) {
    fuzz::fail("content_length() is not the Content-Length value", length);
  }
  (void)head.expects_continue();
  return 0;
}

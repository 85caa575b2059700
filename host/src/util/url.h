#pragma once
// Building request paths from values that came from a platform's answers.
#include <string>
#include <string_view>

namespace stoflow {

// Percent-encodes everything but RFC 3986's unreserved characters, so a value
// put between two slashes stays one path segment: '/', '?', '#' and '%' in it
// can never end the segment, start a query or a fragment, or be decoded twice.
std::string percent_encode_segment(std::string_view value);

}  // namespace stoflow

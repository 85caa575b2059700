#pragma once
// JSON that comes from outside the host: a browser frame, an HTTP body, an
// import file.
#include <nlohmann/json.hpp>

#include <string_view>

namespace stoflow {

// nlohmann's parser is iterative, but copying, comparing and dumping a value
// recurse: a small document nested 100 000 levels deep would overflow the
// stack long after it was parsed. Real messages stay below 20 levels.
inline constexpr int kMaxJsonDepth = 128;

// True when arrays and objects nest deeper than `limit` (strings are skipped,
// escapes included). Linear, no allocation.
bool nests_deeper_than(std::string_view text, int limit);

// Parses `text`. Throws AppError: kParseError when it is not valid UTF-8 JSON,
// kInvalidRequest when it nests deeper than kMaxJsonDepth.
nlohmann::json parse_external_json(std::string_view text);

}  // namespace stoflow

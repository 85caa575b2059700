#pragma once
// JSON that comes from outside the host: a browser frame, an HTTP body, an
// import file.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <string_view>

namespace stoflow {

// nlohmann's parser is iterative, but copying, comparing and dumping a value
// recurse: a small document nested 100 000 levels deep would overflow the
// stack long after it was parsed. Real messages stay below 20 levels.
inline constexpr int kMaxJsonDepth = 128;

// A parsed value costs far more than its text: `[]` is 2 bytes of input and
// about 80 bytes of memory (the value, its vector, the allocator's header), so
// a 16 MiB frame of them once took 663 MiB. Counting values before parsing
// bounds what one message can cost (about 40 MiB here) whatever its size. The
// largest real message, a page of a platform's answer, holds a few thousand.
inline constexpr size_t kMaxJsonValues = 500'000;
// A catalogue file is the seller's own and may hold tens of thousands of products.
inline constexpr size_t kMaxCatalogueJsonValues = 8'000'000;

struct JsonShape {
  int depth = 0;      // deepest nesting of arrays and objects
  size_t values = 0;  // an upper bound on the number of values, keys included
};

// Measures `text` without parsing it: strings (escapes included) are skipped.
// Linear, no allocation. Not a validator: the parser still has the last word.
JsonShape measure_json(std::string_view text);

// True when arrays and objects nest deeper than `limit`.
bool nests_deeper_than(std::string_view text, int limit);

// Parses `text`. Throws AppError, never a library exception: kParseError when
// it is not valid UTF-8 JSON or holds a number no double can represent (1e400),
// kInvalidRequest when it nests deeper than kMaxJsonDepth, kTooLarge when it
// holds more than `max_values` values.
nlohmann::json parse_external_json(std::string_view text, size_t max_values = kMaxJsonValues);

}  // namespace stoflow

#include "util/json_input.h"

#include <algorithm>
#include <string>

#include "util/errors.h"

namespace stoflow {

JsonShape measure_json(std::string_view text) {
  JsonShape shape;
  bool in_string = false;
  bool escaped = false;
  int depth = 0;
  // Every value but the first follows a ',' or ':' or opens a container, so
  // counting those bounds the values from above.
  size_t separators = 0;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        ++separators;
        shape.depth = std::max(shape.depth, ++depth);
        break;
      case ']':
      case '}':
        --depth;
        break;
      case ',':
      case ':':
        ++separators;
        break;
      default:
        break;
    }
  }
  shape.values = separators + 1;
  return shape;
}

bool nests_deeper_than(std::string_view text, int limit) {
  return measure_json(text).depth > limit;
}

nlohmann::json parse_external_json(std::string_view text, size_t max_values) {
  JsonShape shape = measure_json(text);
  if (shape.depth > kMaxJsonDepth) {
    throw AppError(
        ErrorCode::kInvalidRequest,
        "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels is refused");
  }
  if (shape.values > max_values) {
    throw AppError(ErrorCode::kTooLarge, "JSON with about " + std::to_string(shape.values) +
                                             " values is refused: the limit is " +
                                             std::to_string(max_values));
  }
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::out_of_range& e) {
    // The parser's own words for 1e400 are "number overflow parsing '1e400'".
    throw AppError(ErrorCode::kParseError,
                   std::string("not valid JSON: a number is out of range: ") + e.what());
  } catch (const nlohmann::json::exception& e) {
    throw AppError(ErrorCode::kParseError,
                   std::string("not valid JSON (UTF-8 expected): ") + e.what());
  }
}

}  // namespace stoflow

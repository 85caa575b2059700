#include "util/json_input.h"

#include <string>

#include "util/errors.h"

namespace stoflow {

bool nests_deeper_than(std::string_view text, int limit) {
  bool in_string = false;
  bool escaped = false;
  int depth = 0;
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
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

nlohmann::json parse_external_json(std::string_view text) {
  if (nests_deeper_than(text, kMaxJsonDepth)) {
    throw AppError(
        ErrorCode::kInvalidRequest,
        "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels is refused");
  }
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw AppError(ErrorCode::kParseError,
                   std::string("not valid JSON (UTF-8 expected): ") + e.what());
  }
}

}  // namespace stoflow

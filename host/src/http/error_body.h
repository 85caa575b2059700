#pragma once
// The one shape of every error the HTTP server sends, whether a handler, the
// request screener or httplib itself refused the request:
// {"error": {"code": -32000, "message": "...", "data": {"kind": "not_found", ...}}}.
#include <nlohmann/json.hpp>

#include <string>

#include "util/errors.h"

namespace stoflow::http {

inline nlohmann::json error_body(ErrorCode code, const std::string& message,
                                 const nlohmann::json& data = nullptr) {
  nlohmann::json details = data.is_object() ? data : nlohmann::json::object();
  details["kind"] = error_kind(code);
  return {{"error", {{"code", static_cast<int>(code)}, {"message", message}, {"data", details}}}};
}

}  // namespace stoflow::http

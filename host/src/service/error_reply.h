#pragma once
// The one mapping from an exception to what a caller is told, shared by the
// stdio transport, the HTTP API and the CLI, so that they fail alike.
#include <nlohmann/json.hpp>

#include <exception>
#include <string>

#include "util/errors.h"

namespace stoflow::service {

struct ErrorReply {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  nlohmann::json data;  // null or an object
};

// AppError says what the caller did wrong (or what state things are in) and
// is passed on as it is. Anything else is the host's own failure: internal,
// logged with `context`. A JSON library error is one too, never the caller's
// "invalid params": every input is checked before the host reads it.
ErrorReply error_reply(const std::exception& error, const std::string& context);

}  // namespace stoflow::service

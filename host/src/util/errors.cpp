#include "util/errors.h"

namespace stoflow {

const char* error_kind(ErrorCode code) {
  switch (code) {
    case ErrorCode::kParseError:
      return "parse_error";
    case ErrorCode::kInvalidRequest:
      return "invalid_request";
    case ErrorCode::kMethodNotFound:
      return "method_not_found";
    case ErrorCode::kInvalidParams:
      return "invalid_params";
    case ErrorCode::kInternal:
      return "internal_error";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kNotInFlight:
      return "not_in_flight";
    case ErrorCode::kWrongState:
      return "wrong_state";
    case ErrorCode::kTooLarge:
      return "too_large";
    case ErrorCode::kForbidden:
      return "forbidden";
    case ErrorCode::kIncomplete:
      return "incomplete_product";
    case ErrorCode::kFetchFailed:
      return "fetch_failed";
  }
  return "error";
}

}  // namespace stoflow

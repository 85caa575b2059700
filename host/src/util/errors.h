#pragma once
// One error type crosses every layer so that the stdio transport, the CLI and
// the HTTP API report the same failure with the same code and wording.
#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>

namespace stoflow {

enum class ErrorCode : int {
  kParseError = -32700,
  kInvalidRequest = -32600,
  kMethodNotFound = -32601,
  kInvalidParams = -32602,
  kInternal = -32603,
  kNotFound = -32000,
  kNotInFlight = -32001,
  kWrongState = -32002,
  kTooLarge = -32003,
  kForbidden = -32004,
  kIncomplete = -32005,
  kFetchFailed = -32006,
};

// Short machine-readable name, stable across releases (documented in docs/protocol.md).
const char* error_kind(ErrorCode code);

class AppError : public std::runtime_error {
 public:
  AppError(ErrorCode code, const std::string& message, nlohmann::json data = nullptr)
      : std::runtime_error(message), code_(code), data_(std::move(data)) {}

  ErrorCode code() const { return code_; }
  const nlohmann::json& data() const { return data_; }

 private:
  ErrorCode code_;
  nlohmann::json data_;
};

inline AppError not_found(const std::string& what) {
  return {ErrorCode::kNotFound, what};
}
inline AppError invalid_params(const std::string& what) {
  return {ErrorCode::kInvalidParams, what};
}
inline AppError wrong_state(const std::string& what) {
  return {ErrorCode::kWrongState, what};
}

}  // namespace stoflow

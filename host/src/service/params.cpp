#include "service/params.h"

#include "util/errors.h"

namespace stoflow::service {

using nlohmann::json;

namespace {
const json& empty_object() {
  static const json empty = json::object();
  return empty;
}

[[noreturn]] void wrong_type(const char* key, const char* expected) {
  throw AppError(ErrorCode::kInvalidParams, std::string("\"") + key + "\" must be " + expected,
                 json{{"param", key}});
}
}  // namespace

Params::Params(const json& params) : params_(params.is_null() ? empty_object() : params) {
  if (!params_.is_object()) throw invalid_params("params must be an object");
}

const json* Params::find(const char* key) const {
  auto it = params_.find(key);
  if (it == params_.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<int64_t> Params::optional_integer(const char* key, int64_t min, int64_t max) const {
  const json* value = find(key);
  if (!value) return std::nullopt;
  if (!value->is_number_integer()) wrong_type(key, "a whole number");
  int64_t number = value->is_number_unsigned() && value->get<uint64_t>() > INT64_MAX
                       ? INT64_MAX
                       : value->get<int64_t>();
  if (number < min || number > max) {
    throw AppError(ErrorCode::kInvalidParams,
                   std::string("\"") + key + "\" must be between " + std::to_string(min) + " and " +
                       std::to_string(max),
                   json{{"param", key}});
  }
  return number;
}

int64_t Params::integer(const char* key, int64_t min, int64_t max) const {
  auto value = optional_integer(key, min, max);
  if (!value) wrong_type(key, "given (a whole number)");
  return *value;
}

std::optional<std::string> Params::optional_string(const char* key) const {
  const json* value = find(key);
  if (!value) return std::nullopt;
  if (!value->is_string()) wrong_type(key, "a string");
  return value->get<std::string>();
}

std::string Params::string(const char* key) const {
  auto value = optional_string(key);
  if (!value || value->empty()) wrong_type(key, "a non-empty string");
  return *value;
}

bool Params::boolean(const char* key) const {
  const json* value = find(key);
  if (!value || !value->is_boolean()) wrong_type(key, "true or false");
  return value->get<bool>();
}

std::optional<bool> Params::optional_boolean(const char* key) const {
  if (!find(key)) return std::nullopt;
  return boolean(key);
}

std::optional<double> Params::optional_number(const char* key, double min) const {
  const json* value = find(key);
  if (!value) return std::nullopt;
  if (!value->is_number()) wrong_type(key, "a number");
  double number = value->get<double>();
  if (number < min) wrong_type(key, "a number of at least 0");
  return number;
}

const json& Params::any(const char* key) const {
  static const json null_value = nullptr;
  const json* value = find(key);
  return value ? *value : null_value;
}

}  // namespace stoflow::service

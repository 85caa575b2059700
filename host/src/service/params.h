#pragma once
// Typed access to a request's params with the errors a caller can act on:
// which key, what type was expected.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace stoflow::service {

class Params {
 public:
  explicit Params(const nlohmann::json& params);

  int64_t integer(const char* key, int64_t min, int64_t max) const;
  std::optional<int64_t> optional_integer(const char* key, int64_t min, int64_t max) const;
  std::string string(const char* key) const;
  std::optional<std::string> optional_string(const char* key) const;
  bool boolean(const char* key) const;
  std::optional<bool> optional_boolean(const char* key) const;
  std::optional<double> optional_number(const char* key, double min) const;
  // The value as given, or null when absent.
  const nlohmann::json& any(const char* key) const;

 private:
  const nlohmann::json* find(const char* key) const;
  const nlohmann::json& params_;
};

}  // namespace stoflow::service

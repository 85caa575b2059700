#include "workflow/step_generator.h"

namespace stoflow::workflow {

const char* to_string(BodyKind kind) {
  switch (kind) {
    case BodyKind::kJson:
      return "json";
    case BodyKind::kMultipart:
      return "multipart";
    case BodyKind::kNone:
      return "none";
  }
  return "json";
}

BodyKind body_kind_from_string(const std::string& text) {
  if (text == "multipart") return BodyKind::kMultipart;
  if (text == "none") return BodyKind::kNone;
  return BodyKind::kJson;
}

FailureKind StepGenerator::classify_failure(int http_status, const nlohmann::json&) const {
  if (http_status == 401) return FailureKind::kSessionExpired;
  if (http_status == 429) return FailureKind::kRateLimited;
  return FailureKind::kRetry;
}

}  // namespace stoflow::workflow

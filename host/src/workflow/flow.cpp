#include "workflow/flow.h"

namespace stoflow::workflow {

using store::ListingStatus;

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

nlohmann::json Flow::initial_context(const store::Product&, const nlohmann::json&) const {
  return nlohmann::json::object();
}

FailureKind Flow::classify_failure(int http_status, const nlohmann::json&) const {
  if (http_status == 401) return FailureKind::kSessionExpired;
  if (http_status == 429) return FailureKind::kRateLimited;
  return FailureKind::kRetry;
}

// A publish may start over a failed one; a published listing is updated,
// deleted or relisted, never published twice.
ListingRule publish_rule() {
  return {{std::nullopt, ListingStatus::kFailed},
          ListingStatus::kPending,
          ListingStatus::kPublished,
          ListingStatus::kFailed};
}

ListingRule update_rule() {
  return {{ListingStatus::kPublished}, std::nullopt, ListingStatus::kPublished, std::nullopt};
}

ListingRule delete_rule() {
  return {{ListingStatus::kPublished}, std::nullopt, ListingStatus::kDeleted, std::nullopt};
}

ListingRule relist_rule() {
  return {{ListingStatus::kDeleted, ListingStatus::kFailed, ListingStatus::kSold},
          std::nullopt,
          ListingStatus::kPublished,
          ListingStatus::kFailed};
}

}  // namespace stoflow::workflow

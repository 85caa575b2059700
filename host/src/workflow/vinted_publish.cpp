#include "workflow/vinted_publish.h"

#include <cstdio>

#include "util/crypto.h"
#include "util/url.h"

namespace stoflow::workflow {

using nlohmann::json;

namespace {

constexpr const char* kPhotosPath = "/api/v2/photos";
constexpr const char* kDraftsPath = "/api/v2/item_upload/drafts";
constexpr const char* kUploadPhotoPrefix = "upload_photo_";
constexpr const char* kCreateDraft = "create_draft";
constexpr const char* kCompleteDraft = "complete_draft";

bool is_whole_number(const json& value) {
  return value.is_number_integer();
}

constexpr size_t kMaxIdDigits = 20;

bool all_digits(const std::string& text) {
  return !text.empty() && text.size() <= kMaxIdDigits &&
         text.find_first_not_of("0123456789") == std::string::npos;
}

// Vinted ids are positive numbers; a seed-style client may send them as
// strings of digits. Ids go into later paths (drafts/{id}/completion), so an
// answer like {"draft": {"id": "1#"}} is refused here, where it is read: it
// would otherwise steer the next request to another path.
std::optional<json> read_id(const json& object, const char* key) {
  if (!object.is_object()) return std::nullopt;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  bool positive = it->is_number_unsigned() ? it->get<uint64_t>() > 0
                                           : it->is_number_integer() && it->get<int64_t>() > 0;
  if (positive) return *it;
  if (it->is_string() && all_digits(it->get<std::string>())) return *it;
  throw ResponseError("the answer's \"" + std::string(key) + "\" is " + it->dump() +
                      ", not a Vinted id (a positive whole number)");
}

std::string id_text(const json& id) {
  return id.is_string() ? id.get<std::string>() : std::to_string(id.get<uint64_t>());
}

std::optional<json> first_id(const json& response, std::initializer_list<const char*> wrappers,
                             std::initializer_list<const char*> keys) {
  for (const char* wrapper : wrappers) {
    auto it = response.find(wrapper);
    if (it == response.end()) continue;
    if (auto id = read_id(*it, "id")) return id;
  }
  for (const char* key : keys) {
    if (auto id = read_id(response, key)) return id;
  }
  return std::nullopt;
}

std::string string_field(const json& object, std::initializer_list<const char*> wrappers,
                         const char* key) {
  for (const char* wrapper : wrappers) {
    auto it = object.find(wrapper);
    if (it != object.end() && it->is_object()) {
      auto value = it->find(key);
      if (value != it->end() && value->is_string()) return *value;
    }
  }
  auto value = object.find(key);
  return value != object.end() && value->is_string() ? value->get<std::string>() : std::string();
}

json attribute_or_null(const json& attributes, const char* key) {
  auto it = attributes.find(key);
  return it == attributes.end() ? json(nullptr) : *it;
}

// The item as Vinted's upload form sends it. Field names and order follow the
// web client so that the payload reads like the real thing in logs. The same
// item, id null, goes in the draft and in its completion (docs/vinted.md): the
// completion names its draft in the path.
json item_payload(const store::Product& product, const json& accumulated, const json& context) {
  const json& attrs = product.platform_attributes("vinted");
  json photos = json::array();
  for (const auto& photo_id : accumulated.value("photo_ids", json::array())) {
    photos.push_back({{"id", photo_id}, {"orientation", 0}});
  }
  json colors = attrs.contains("color_ids") ? attrs["color_ids"] : json::array();
  return {{"id", nullptr},
          {"currency", product.currency},
          {"temp_uuid", context.value("temp_uuid", "")},
          {"title", product.title},
          {"description", product.description},
          {"brand_id", attribute_or_null(attrs, "brand_id")},
          {"size_id", attribute_or_null(attrs, "size_id")},
          {"catalog_id", attribute_or_null(attrs, "catalog_id")},
          {"status_id", attribute_or_null(attrs, "status_id")},
          {"price", VintedPublish::price_string(product.price_cents)},
          {"package_size_id", attribute_or_null(attrs, "package_size_id")},
          {"color_ids", colors},
          {"assigned_photos", photos},
          {"is_unisex", attrs.value("is_unisex", false)},
          {"item_attributes", attrs.value("item_attributes", json::array())}};
}

int photo_number(const std::string& step) {
  return std::stoi(step.substr(std::char_traits<char>::length(kUploadPhotoPrefix)));
}

}  // namespace

std::string VintedPublish::price_string(int64_t cents) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%lld.%02lld", static_cast<long long>(cents / 100),
                static_cast<long long>(cents % 100));
  return buffer;
}

std::vector<std::string> VintedPublish::missing_fields(const store::Product& product) const {
  std::vector<std::string> missing;
  if (product.title.empty()) missing.emplace_back("title");
  if (product.description.empty()) missing.emplace_back("description");
  if (product.price_cents <= 0) missing.emplace_back("price_cents");
  if (product.images.empty()) missing.emplace_back("images");
  const json& attrs = product.platform_attributes("vinted");
  for (const char* key : {"catalog_id", "status_id", "package_size_id"}) {
    if (!attrs.contains(key) || !is_whole_number(attrs[key])) {
      missing.push_back(std::string("vinted.") + key);
    }
  }
  for (const char* key : {"brand_id", "size_id"}) {
    if (attrs.contains(key) && !attrs[key].is_null() && !is_whole_number(attrs[key])) {
      missing.push_back(std::string("vinted.") + key);
    }
  }
  if (attrs.contains("color_ids")) {
    const json& colors = attrs["color_ids"];
    bool valid = colors.is_array() && colors.size() <= 2;
    for (const auto& color : colors) valid = valid && is_whole_number(color);
    if (!valid) missing.emplace_back("vinted.color_ids");
  }
  return missing;
}

json VintedPublish::initial_context(const store::Product&, const json&) const {
  // One temp_uuid ties the photos to the draft; upload_session_id lets Vinted
  // recognise a retried draft/completion as the same upload.
  return {{"temp_uuid", random_uuid()}, {"upload_session_id", random_uuid()}};
}

std::optional<StepSpec> VintedPublish::next_step(const FlowState& state) const {
  const auto& images = state.product.images;
  size_t uploaded = state.accumulated.value("photo_ids", json::array()).size();
  if (uploaded < images.size()) {
    const auto& image = images[uploaded];
    json file = {{"$blob", image.sha256},
                 {"filename", image.filename},
                 {"content_type", image.content_type},
                 {"size", image.size}};
    return StepSpec{kUploadPhotoPrefix + std::to_string(uploaded + 1),
                    "POST",
                    kPhotosPath,
                    BodyKind::kMultipart,
                    {{"photo[type]", "item"},
                     {"photo[temp_uuid]", state.context.value("temp_uuid", "")},
                     {"photo[file]", file}}};
  }
  std::string upload_session = state.context.value("upload_session_id", "");
  if (!state.accumulated.contains("draft_id")) {
    return StepSpec{kCreateDraft,
                    "POST",
                    kDraftsPath,
                    BodyKind::kJson,
                    {{"draft", item_payload(state.product, state.accumulated, state.context)},
                     {"parcel", nullptr},
                     {"upload_session_id", upload_session}}};
  }
  if (!state.accumulated.value("listing_created", false)) {
    const json& draft_id = state.accumulated["draft_id"];
    return StepSpec{
        kCompleteDraft,
        "POST",
        std::string(kDraftsPath) + "/" + percent_encode_segment(id_text(draft_id)) + "/completion",
        BodyKind::kJson,
        {{"draft", item_payload(state.product, state.accumulated, state.context)},
         {"feedback_id", nullptr},
         {"push_up", false},
         {"parcel", nullptr},
         {"upload_session_id", upload_session}}};
  }
  return std::nullopt;
}

json VintedPublish::accumulate(const std::string& step, const json& response,
                               json accumulated) const {
  if (!response.is_object()) throw ResponseError("the response to " + step + " is not an object");
  if (step.rfind(kUploadPhotoPrefix, 0) == 0) {
    auto id = first_id(response, {"photo"}, {"id", "photo_id"});
    if (!id) throw ResponseError("the response to " + step + " has no photo id");
    size_t index = static_cast<size_t>(photo_number(step) - 1);
    json& ids = accumulated["photo_ids"];
    json& photos = accumulated["photos"];
    if (!ids.is_array()) ids = json::array();
    if (!photos.is_array()) photos = json::array();
    // Indexed, not appended: the same photo's result applied twice stays one photo.
    if (ids.size() == index) {
      ids.push_back(*id);
      photos.push_back({{"id", *id}, {"url", string_field(response, {"photo"}, "url")}});
    }
    return accumulated;
  }
  if (step == kCreateDraft) {
    auto id = first_id(response, {"draft", "item"}, {"id"});
    if (!id) throw ResponseError("the response to create_draft has no draft id");
    accumulated["draft_id"] = *id;
    return accumulated;
  }
  if (step == kCompleteDraft) {
    auto id = first_id(response, {"item"}, {"id", "vinted_id"});
    if (!id) throw ResponseError("the response to complete_draft has no item id");
    accumulated["vinted_id"] = *id;
    accumulated["url"] = string_field(response, {"item"}, "url");
    accumulated["listing_created"] = true;
    return accumulated;
  }
  throw ResponseError("unknown Vinted step " + step);
}

int VintedPublish::total_steps(const FlowState& state) const {
  return static_cast<int>(state.product.images.size()) + 2;
}

std::optional<ListingOutcome> VintedPublish::outcome(const FlowState& state) const {
  const json& accumulated = state.accumulated;
  ListingOutcome outcome;
  if (auto it = accumulated.find("vinted_id"); it != accumulated.end())
    outcome.remote_id = id_text(*it);
  outcome.url = accumulated.value("url", "");
  return outcome;
}

FailureKind VintedPublish::classify_failure(int http_status, const json& body) const {
  // 401 is how Vinted says the session is gone ({"code": 100}); a stale CSRF
  // token answers 401 too and also needs the seller's page to be reloaded.
  if (http_status == 401) return FailureKind::kSessionExpired;
  if (http_status == 403 && !body.is_object()) return FailureKind::kChallenge;
  if (http_status == 429) return FailureKind::kRateLimited;
  return FailureKind::kRetry;
}

}  // namespace stoflow::workflow

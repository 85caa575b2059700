#pragma once
// The one interface platform knowledge implements: a flow is one operation on
// one platform (vinted/publish_product, ebay/delete_listing, ...). The engine
// knows nothing of paths, payloads or response shapes, and names no platform
// and no operation: it asks the flow for the next step, hands it each
// successful response to fold into accumulated_data, and moves the listing as
// the flow's ListingRule says.
#include <nlohmann/json.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "store/products.h"
#include "store/statuses.h"

namespace stoflow::workflow {

enum class BodyKind { kJson, kMultipart, kNone };
const char* to_string(BodyKind kind);
BodyKind body_kind_from_string(const std::string& text);

struct StepSpec {
  std::string step;  // e.g. "upload_photo_2": shown to the seller as current_step
  std::string http_method;
  std::string path;
  BodyKind body = BodyKind::kJson;
  nlohmann::json payload = nlohmann::json::object();
};

// The product's listing on the flow's platform, as the operation found it.
struct ListingState {
  std::optional<store::ListingStatus> status;  // nullopt: never listed there
  std::string remote_id;
  std::string url;
};

struct FlowState {
  const store::Product& product;
  const ListingState& listing;
  const nlohmann::json& accumulated;
  const nlohmann::json& context;
};

// What an operation needs from the listing and does to it. `needs` holds the
// listing states it may start from (nullopt: no listing row yet). A status
// left unset means "unchanged": a failed update leaves the listing published.
struct ListingRule {
  std::vector<std::optional<store::ListingStatus>> needs;
  std::optional<store::ListingStatus> while_running;
  store::ListingStatus on_success = store::ListingStatus::kPublished;
  std::optional<store::ListingStatus> on_failure;
};

// The listing's remote id and URL after a successful operation; nullopt keeps them.
struct ListingOutcome {
  std::string remote_id;
  std::string url;
};

// What kind of failure a platform response is, beyond "try again".
enum class FailureKind { kRetry, kSessionExpired, kChallenge, kRateLimited };

// Thrown by accumulate() when a 2xx response lacks what the step needs: the
// attempt then counts as failed, with this message kept for the seller.
class ResponseError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The operation names shared by every platform (the `operation` column).
inline constexpr const char* kPublishProduct = "publish_product";
inline constexpr const char* kUpdateListing = "update_listing";
inline constexpr const char* kDeleteListing = "delete_listing";
inline constexpr const char* kRelistListing = "relist_listing";

class Flow {
 public:
  virtual ~Flow() = default;

  virtual std::string platform() const = 0;
  virtual std::string operation() const = 0;
  virtual ListingRule listing_rule() const = 0;

  // Names of the fields the product lacks (or has with the wrong type) for
  // this operation; empty when it can be queued.
  virtual std::vector<std::string> missing_fields(const store::Product& product) const = 0;

  // Constants fixed once per operation (e.g. an upload session id), kept in
  // context_data so that every step, retried or not, uses the same ones.
  // `params` are the caller's options for this operation.
  virtual nlohmann::json initial_context(const store::Product& product,
                                         const nlohmann::json& params) const;

  // The next step, or nullopt when the operation is complete.
  virtual std::optional<StepSpec> next_step(const FlowState& state) const = 0;

  // Folds a successful response into the accumulated data.
  virtual nlohmann::json accumulate(const std::string& step, const nlohmann::json& response,
                                    nlohmann::json accumulated) const = 0;

  virtual int total_steps(const FlowState& state) const = 0;

  // The listing's id and URL once the operation succeeded; nullopt keeps the old ones.
  virtual std::optional<ListingOutcome> outcome(const FlowState& state) const = 0;

  // Reads a failed response the extension classified only as "http".
  virtual FailureKind classify_failure(int http_status, const nlohmann::json& body) const;
};

// The rules of the four listing operations, shared by every platform.
ListingRule publish_rule();
ListingRule update_rule();
ListingRule delete_rule();
ListingRule relist_rule();

}  // namespace stoflow::workflow

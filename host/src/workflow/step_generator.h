#pragma once
// The one interface a platform implements. The engine knows nothing of paths,
// payloads or response shapes: it asks the platform's generator for the next
// step and hands it each successful response to fold into accumulated_data.
#include <nlohmann/json.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "store/products.h"

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

struct OperationState {
  const store::Product& product;
  const nlohmann::json& accumulated;
  const nlohmann::json& context;
};

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

inline constexpr const char* kPublishProduct = "publish_product";

class StepGenerator {
 public:
  virtual ~StepGenerator() = default;

  virtual std::string platform() const = 0;
  virtual bool supports(const std::string& operation) const = 0;

  // Names of the fields the product lacks (or has with the wrong type) for
  // this operation; empty when it can be queued.
  virtual std::vector<std::string> missing_fields(const store::Product& product,
                                                  const std::string& operation) const = 0;

  // Constants fixed once per operation (e.g. an upload session id), kept in
  // context_data so that every step, retried or not, uses the same ones.
  virtual nlohmann::json initial_context(const store::Product& product,
                                         const std::string& operation) const = 0;

  // The next step, or nullopt when the operation is complete.
  virtual std::optional<StepSpec> next_step(const std::string& operation,
                                            const OperationState& state) const = 0;

  // Folds a successful response into the accumulated data.
  virtual nlohmann::json accumulate(const std::string& operation, const std::string& step,
                                    const nlohmann::json& response,
                                    nlohmann::json accumulated) const = 0;

  virtual int total_steps(const std::string& operation, const store::Product& product) const = 0;

  virtual ListingOutcome outcome(const nlohmann::json& accumulated) const = 0;

  // Reads a failed response the extension classified only as "http".
  virtual FailureKind classify_failure(int http_status, const nlohmann::json& body) const;
};

}  // namespace stoflow::workflow

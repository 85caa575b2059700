#pragma once
#include "workflow/flow.h"

namespace stoflow::workflow {

// Vinted's web API as the browser uses it: one photo upload per image, then a
// private draft holding the photo ids in order, then the draft's completion,
// which makes the item public. See docs/vinted.md.
class VintedPublish final : public Flow {
 public:
  std::string platform() const override { return "vinted"; }
  std::string operation() const override { return kPublishProduct; }
  ListingRule listing_rule() const override { return publish_rule(); }
  std::vector<std::string> missing_fields(const store::Product& product) const override;
  nlohmann::json initial_context(const store::Product& product,
                                 const nlohmann::json& params) const override;
  std::optional<StepSpec> next_step(const FlowState& state) const override;
  nlohmann::json accumulate(const std::string& step, const nlohmann::json& response,
                            nlohmann::json accumulated) const override;
  int total_steps(const FlowState& state) const override;
  std::optional<ListingOutcome> outcome(const FlowState& state) const override;
  FailureKind classify_failure(int http_status, const nlohmann::json& body) const override;

  // "27.90" from 2790: Vinted takes the price as a decimal string.
  static std::string price_string(int64_t cents);
};

}  // namespace stoflow::workflow

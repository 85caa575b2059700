#pragma once
#include "workflow/step_generator.h"

namespace stoflow::workflow {

// Vinted's web API as the browser uses it: one photo upload per image, then a
// private draft holding the photo ids in order, then the draft's completion,
// which makes the item public. See docs/vinted.md.
class VintedPublish final : public StepGenerator {
 public:
  std::string platform() const override { return "vinted"; }
  bool supports(const std::string& operation) const override;
  std::vector<std::string> missing_fields(const store::Product& product,
                                          const std::string& operation) const override;
  nlohmann::json initial_context(const store::Product& product,
                                 const std::string& operation) const override;
  std::optional<StepSpec> next_step(const std::string& operation,
                                    const OperationState& state) const override;
  nlohmann::json accumulate(const std::string& operation, const std::string& step,
                            const nlohmann::json& response,
                            nlohmann::json accumulated) const override;
  int total_steps(const std::string& operation, const store::Product& product) const override;
  ListingOutcome outcome(const nlohmann::json& accumulated) const override;
  FailureKind classify_failure(int http_status, const nlohmann::json& body) const override;

  // "27.90" from 2790: Vinted takes the price as a decimal string.
  static std::string price_string(int64_t cents);
};

}  // namespace stoflow::workflow

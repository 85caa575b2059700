#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "workflow/step_generator.h"

namespace stoflow::workflow {

// Platform name → step generator. Adding eBay or Etsy is one add() here.
class Registry {
 public:
  static Registry with_builtin_platforms();

  void add(std::unique_ptr<StepGenerator> generator);
  const StepGenerator* find(const std::string& platform) const;
  // Throws invalid_params naming the known platforms.
  const StepGenerator& get(const std::string& platform) const;
  std::vector<std::string> platforms() const;

 private:
  std::map<std::string, std::unique_ptr<StepGenerator>> generators_;
};

}  // namespace stoflow::workflow

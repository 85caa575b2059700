#pragma once
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "workflow/flow.h"

namespace stoflow::workflow {

// (platform, operation) → flow: the one place where platform knowledge is
// registered. Adding a platform or an operation is one add() here.
class Registry {
 public:
  static Registry with_builtin_platforms();

  void add(std::unique_ptr<Flow> flow);
  const Flow* find(const std::string& platform, const std::string& operation) const;
  // Throws invalid_params naming the known platforms, or the platform's operations.
  const Flow& get(const std::string& platform, const std::string& operation) const;
  // Any flow of the platform, for what is the same across its operations
  // (how it reports failures); nullptr for an unknown platform.
  const Flow* find_platform(const std::string& platform) const;
  std::vector<std::string> platforms() const;
  std::vector<std::string> operations(const std::string& platform) const;

 private:
  std::map<std::pair<std::string, std::string>, std::unique_ptr<Flow>> flows_;
};

}  // namespace stoflow::workflow

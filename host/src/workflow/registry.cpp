#include "workflow/registry.h"

#include "util/errors.h"
#include "workflow/vinted_publish.h"

namespace stoflow::workflow {

Registry Registry::with_builtin_platforms() {
  Registry registry;
  registry.add(std::make_unique<VintedPublish>());
  return registry;
}

void Registry::add(std::unique_ptr<StepGenerator> generator) {
  std::string name = generator->platform();
  generators_[name] = std::move(generator);
}

const StepGenerator* Registry::find(const std::string& platform) const {
  auto it = generators_.find(platform);
  return it == generators_.end() ? nullptr : it->second.get();
}

const StepGenerator& Registry::get(const std::string& platform) const {
  if (const auto* generator = find(platform)) return *generator;
  std::string known;
  for (const auto& name : platforms()) known += (known.empty() ? "" : ", ") + name;
  throw invalid_params("unknown platform \"" + platform + "\" (known: " + known + ")");
}

std::vector<std::string> Registry::platforms() const {
  std::vector<std::string> names;
  for (const auto& [name, generator] : generators_) names.push_back(name);
  return names;
}

}  // namespace stoflow::workflow

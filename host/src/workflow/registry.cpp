#include "workflow/registry.h"

#include "util/errors.h"
#include "workflow/vinted_publish.h"

namespace stoflow::workflow {

namespace {
std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}
}  // namespace

Registry Registry::with_builtin_platforms() {
  Registry registry;
  registry.add(std::make_unique<VintedPublish>());
  return registry;
}

void Registry::add(std::unique_ptr<Flow> flow) {
  auto key = std::make_pair(flow->platform(), flow->operation());
  flows_[key] = std::move(flow);
}

const Flow* Registry::find(const std::string& platform, const std::string& operation) const {
  auto it = flows_.find({platform, operation});
  return it == flows_.end() ? nullptr : it->second.get();
}

const Flow* Registry::find_platform(const std::string& platform) const {
  auto it = flows_.lower_bound({platform, ""});
  return it != flows_.end() && it->first.first == platform ? it->second.get() : nullptr;
}

const Flow& Registry::get(const std::string& platform, const std::string& operation) const {
  if (const auto* flow = find(platform, operation)) return *flow;
  if (!find_platform(platform)) {
    throw invalid_params("unknown platform \"" + platform + "\" (known: " + joined(platforms()) +
                         ")");
  }
  throw invalid_params(platform + " has no operation \"" + operation +
                       "\" (known: " + joined(operations(platform)) + ")");
}

std::vector<std::string> Registry::platforms() const {
  std::vector<std::string> names;
  for (const auto& [key, flow] : flows_) {
    if (names.empty() || names.back() != key.first) names.push_back(key.first);
  }
  return names;
}

std::vector<std::string> Registry::operations(const std::string& platform) const {
  std::vector<std::string> names;
  for (const auto& [key, flow] : flows_) {
    if (key.first == platform) names.push_back(key.second);
  }
  return names;
}

}  // namespace stoflow::workflow

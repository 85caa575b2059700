#include "messaging/origins.h"

#include <sstream>

#include "util/paths.h"

namespace stoflow::messaging {

namespace {
bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

std::optional<NativeCaller> detect_native_launch(const std::vector<std::string>& args) {
  if (args.empty()) return std::nullopt;
  const std::string& first = args[0];
  if (first.rfind("chrome-extension://", 0) == 0) return NativeCaller{"chrome", first};
  if (args.size() >= 2 && ends_with(first, ".json") && args[1].find('@') != std::string::npos) {
    return NativeCaller{"firefox", args[1]};
  }
  return std::nullopt;
}

bool is_allowed(const NativeCaller& caller) {
  std::string expected = caller.browser == "chrome"
                             ? std::string("chrome-extension://") + kChromeExtensionId + "/"
                             : std::string(kFirefoxAddonId);
  if (caller.identity == expected) return true;
  if (auto extra = env("STOFLOW_EXTRA_ORIGINS")) {
    std::stringstream list(*extra);
    std::string item;
    while (std::getline(list, item, ',')) {
      if (!item.empty() && item == caller.identity) return true;
    }
  }
  return false;
}

}  // namespace stoflow::messaging

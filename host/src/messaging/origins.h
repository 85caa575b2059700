#pragma once
// Browsers start a native host with the caller's identity on the command line:
// Chrome-family browsers pass the extension origin ("chrome-extension://ID/"),
// Firefox passes the manifest path and the add-on id. The browser already
// filters callers by the manifest; the host checks again so that a manifest
// edited by someone else cannot hand the seller's queue to another extension.
#include <optional>
#include <string>
#include <vector>

namespace stoflow::messaging {

inline constexpr const char* kChromeExtensionId = "kikocaejcljggdneaelndeobljajgmho";
inline constexpr const char* kFirefoxAddonId = "companion@stoflow.app";
inline constexpr const char* kNativeHostName = "com.stoflow.companion";

struct NativeCaller {
  std::string browser;   // "chrome" or "firefox"
  std::string identity;  // the origin or the add-on id
};

// Recognises a browser launch from argv (without the program name); nullopt
// when the arguments are a CLI command instead.
std::optional<NativeCaller> detect_native_launch(const std::vector<std::string>& args);

// Our ids, plus STOFLOW_EXTRA_ORIGINS (comma-separated origins or add-on ids,
// for development builds of the extension).
bool is_allowed(const NativeCaller& caller);

}  // namespace stoflow::messaging

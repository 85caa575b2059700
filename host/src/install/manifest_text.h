#pragma once
// The native-messaging host manifests: manifest/<flavour>.json.in as they were when this host was
// built (see manifests.cmake), filled in exactly as installer/install.sh fills them, and the rule
// that tells a manifest of ours from anyone else's.
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "doctor/browser_table.h"

namespace stoflow::install {

inline constexpr std::string_view kHostPathPlaceholder = "@HOST_PATH@";

// manifest/chrome.json.in or manifest/firefox.json.in, built in.
std::string_view builtin_template(doctor::Flavour flavour);

// `text` as the body of a JSON string: `\` and `"` escaped, as install.sh's sf_json_escape does,
// and control characters (which install.sh refuses) as \u00XX, so the result is always JSON.
std::string json_string_body(std::string_view text);

// install.sh's render_manifest: the template without its trailing newlines, every @HOST_PATH@ of
// the template replaced by `host_path` as a JSON string body, and one newline at the end. Throws
// std::invalid_argument when the template has no placeholder.
std::string render_manifest(std::string_view template_text, const std::string& host_path);
std::string render_manifest(doctor::Flavour flavour, const std::string& host_path);

// Whether `host_path` names a file called stoflow-host (or stoflow-host.exe), after the last `/`
// or `\`.
bool names_a_stoflow_host(std::string_view host_path);

// Why the manifest file holding `text` is not ours to remove, or nullopt when it is: it must be a
// JSON object whose "name" is com.stoflow.companion and whose "path" names a stoflow-host. This is
// the rule of installer/uninstall.sh (which checks the same two members with grep).
std::optional<std::string> why_not_ours(const std::string& text);

}  // namespace stoflow::install

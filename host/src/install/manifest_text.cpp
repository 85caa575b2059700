#include "install/manifest_text.h"

#include <cstdio>
#include <stdexcept>

#include "install/chrome_json_in.h"   // generated from manifest/chrome.json.in
#include "install/firefox_json_in.h"  // generated from manifest/firefox.json.in
#include "messaging/origins.h"

namespace stoflow::install {

using nlohmann::json;

std::string_view builtin_template(doctor::Flavour flavour) {
  return flavour == doctor::Flavour::kChrome ? kEmbedded_chrome_template
                                             : kEmbedded_firefox_template;
}

std::string json_string_body(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
      out += escaped;
    } else {
      out += c;
    }
  }
  return out;
}

std::string render_manifest(std::string_view template_text, const std::string& host_path) {
  while (!template_text.empty() && template_text.back() == '\n') template_text.remove_suffix(1);
  if (template_text.find(kHostPathPlaceholder) == std::string_view::npos) {
    throw std::invalid_argument("the manifest template has no @HOST_PATH@ placeholder");
  }
  // Only the template's text is scanned, so a path that itself holds the placeholder stays as is.
  std::string body = json_string_body(host_path);
  std::string rendered;
  for (;;) {
    size_t at = template_text.find(kHostPathPlaceholder);
    if (at == std::string_view::npos) break;
    rendered.append(template_text.substr(0, at)).append(body);
    template_text.remove_prefix(at + kHostPathPlaceholder.size());
  }
  rendered.append(template_text).append("\n");
  return rendered;
}

std::string render_manifest(doctor::Flavour flavour, const std::string& host_path) {
  return render_manifest(builtin_template(flavour), host_path);
}

bool names_a_stoflow_host(std::string_view host_path) {
  size_t slash = host_path.find_last_of("/\\");
  std::string_view name = slash == std::string_view::npos ? host_path : host_path.substr(slash + 1);
  return name == "stoflow-host" || name == "stoflow-host.exe";
}

std::optional<std::string> why_not_ours(const std::string& text) {
  json manifest = json::parse(text, nullptr, false);
  if (manifest.is_discarded() || !manifest.is_object()) return "is not a JSON object";
  if (manifest.value("name", json()) != messaging::kNativeHostName) {
    return std::string("does not name ") + messaging::kNativeHostName;
  }
  const json path = manifest.value("path", json());
  if (!path.is_string() || !names_a_stoflow_host(path.get<std::string>())) {
    return "does not point at a stoflow-host";
  }
  return std::nullopt;
}

}  // namespace stoflow::install

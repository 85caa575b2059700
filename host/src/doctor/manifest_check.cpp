#include "doctor/manifest_check.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "doctor/self_exe.h"
#include "messaging/origins.h"
#include "platform/files.h"

namespace stoflow::doctor {

using nlohmann::json;

namespace {

std::string chrome_origin() {
  return std::string("chrome-extension://") + messaging::kChromeExtensionId + "/";
}

// nlohmann prefixes its messages with "[json.exception.parse_error.101] "; people need the rest.
std::string without_exception_tag(const std::string& what) {
  auto end = what.find("] ");
  bool tagged = what.rfind("[json.exception.", 0) == 0 && end != std::string::npos;
  return tagged ? what.substr(end + 2) : what;
}

// Collects the problems of one manifest, each with the remedy that fits it.
class Findings {
 public:
  Findings(ManifestResult& result, const Remedy& remedy) : result_(result), remedy_(remedy) {}

  // Problems in the manifest's own content: writing it again repairs them.
  void rewrite(std::string code, std::string message) {
    add(std::move(code), std::move(message), "run " + remedy_.rewrite);
  }
  // Problems with the host it names: it must be written again pointing at a real host.
  void reinstall(std::string code, std::string message, std::string before = "") {
    add(std::move(code), std::move(message), before + "reinstall: " + remedy_.reinstall);
  }
  void add(std::string code, std::string message, std::string fix) {
    result_.problems.push_back({std::move(code), std::move(message), std::move(fix)});
  }

 private:
  ManifestResult& result_;
  const Remedy& remedy_;
};

std::optional<std::string> read_text(const std::filesystem::path& file, Findings& findings) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    findings.add("unreadable", "cannot read " + file.string() + ": " + std::strerror(errno),
                 "make it readable (chmod 644 " + shell_quote(file.string()) + ")");
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<json> parse_object(const std::string& text, Findings& findings) {
  json manifest;
  try {
    manifest = json::parse(text);
  } catch (const json::parse_error& e) {
    findings.rewrite("invalid_json", "not valid JSON: " + without_exception_tag(e.what()));
    return std::nullopt;
  }
  if (!manifest.is_object()) {
    findings.rewrite("not_object", "the manifest is JSON but not an object");
    return std::nullopt;
  }
  return manifest;
}

// `"key" is VALUE` or `has no "key"`, for messages about a field with the wrong value.
std::string describe_field(const json& manifest, const char* key) {
  if (!manifest.contains(key)) return std::string("has no \"") + key + "\"";
  return std::string("\"") + key + "\" is " + manifest[key].dump();
}

void check_identity(const json& manifest, Findings& findings) {
  if (manifest.value("name", json()) != messaging::kNativeHostName) {
    findings.rewrite("wrong_name", describe_field(manifest, "name") + ", expected \"" +
                                       messaging::kNativeHostName + "\"");
  }
  if (manifest.value("type", json()) != "stdio") {
    findings.rewrite("wrong_type", describe_field(manifest, "type") + ", expected \"stdio\"");
  }
}

void check_executable(const std::filesystem::path& host, const std::filesystem::path& self,
                      ManifestResult& result, Findings& findings) {
  std::error_code ec;
  auto status = std::filesystem::status(host, ec);
  std::string points = "the manifest points to " + host.string();
  if (!std::filesystem::exists(status)) {
    findings.reinstall("host_missing", points + " which does not exist");
  } else if (!std::filesystem::is_regular_file(status)) {
    findings.reinstall("host_not_file", points + " which is not a regular file");
  } else if (!platform::is_executable(host)) {
    findings.reinstall("host_not_executable", points + " which is not executable",
                       "chmod 755 " + shell_quote(host.string()) + ", or ");
  } else {
    result.host_is_this_binary = same_file_path(host, self);
  }
}

void check_host_path(const json& manifest, const std::filesystem::path& self,
                     ManifestResult& result, Findings& findings) {
  const json path = manifest.value("path", json());
  if (!path.is_string() || path.get<std::string>().empty()) {
    findings.reinstall("no_path", describe_field(manifest, "path") + ", expected the host's path");
    return;
  }
  result.host_path = path.get<std::string>();
  // Chrome and Firefox on Linux and macOS resolve "path" only when it is absolute.
  if (result.host_path->front() != '/') {
    findings.reinstall("relative_path", "\"path\" is relative (" + *result.host_path +
                                            "); browsers need an absolute path");
    return;
  }
  check_executable(*result.host_path, self, result, findings);
}

bool lists(const json& manifest, const char* key, const std::string& wanted) {
  const json list = manifest.value(key, json());
  return list.is_array() && std::find(list.begin(), list.end(), wanted) != list.end();
}

void check_allowed(const json& manifest, Flavour flavour, Findings& findings) {
  bool chrome = flavour == Flavour::kChrome;
  const char* key = chrome ? "allowed_origins" : "allowed_extensions";
  const char* other = chrome ? "allowed_extensions" : "allowed_origins";
  std::string ours = chrome ? chrome_origin() : messaging::kFirefoxAddonId;
  if (lists(manifest, key, ours)) return;
  if (!manifest.contains(key) && manifest.contains(other)) {
    findings.rewrite("wrong_flavour", std::string("this manifest lists \"") + other +
                                          "\", which is for " + (chrome ? "Firefox" : "Chrome") +
                                          "; here it needs \"" + key + "\"");
    return;
  }
  findings.rewrite(chrome ? "origin_not_allowed" : "extension_not_allowed",
                   describe_field(manifest, key) + ", which does not contain " + ours);
}

void check_content(const json& manifest, Flavour flavour, const std::filesystem::path& self,
                   ManifestResult& result, Findings& findings) {
  check_identity(manifest, findings);
  check_host_path(manifest, self, result, findings);
  check_allowed(manifest, flavour, findings);
}

}  // namespace

const char* to_string(ManifestState state) {
  switch (state) {
    case ManifestState::kMissing:
      return "missing";
    case ManifestState::kOk:
      return "ok";
    case ManifestState::kBad:
      return "bad";
  }
  return "?";
}

ManifestResult check_manifest(const std::filesystem::path& file, Flavour flavour,
                              const std::filesystem::path& self, const Remedy& remedy) {
  ManifestResult result;
  result.file = file;
  std::error_code ec;
  auto status = std::filesystem::status(file, ec);
  if (!std::filesystem::exists(status)) return result;
  Findings findings(result, remedy);
  if (!std::filesystem::is_regular_file(status)) {
    findings.add("not_a_file", file.string() + " is not a regular file",
                 "remove it, then run " + remedy.rewrite);
  } else if (auto text = read_text(file, findings)) {
    if (auto manifest = parse_object(*text, findings)) {
      check_content(*manifest, flavour, self, result, findings);
    }
  }
  result.state = result.problems.empty() ? ManifestState::kOk : ManifestState::kBad;
  return result;
}

std::string shell_quote(const std::string& word) {
  auto safe = [](unsigned char c) {
    return std::isalnum(c) || (c != 0 && std::strchr("@%+=:,./-_", c) != nullptr);
  };
  if (!word.empty() && std::all_of(word.begin(), word.end(), safe)) return word;
  std::string quoted = "'";
  for (char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

}  // namespace stoflow::doctor

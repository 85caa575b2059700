#include "doctor/report_json.h"

namespace stoflow::doctor {

using nlohmann::json;

namespace {

json path_or_null(const std::filesystem::path& path) {
  return path.empty() ? json(nullptr) : json(path.string());
}

template <typename T>
json optional_or_null(const std::optional<T>& value) {
  return value ? json(*value) : json(nullptr);
}

json problem_json(const Problem& problem) {
  return {{"code", problem.code}, {"message", problem.message}, {"fix", problem.fix}};
}

json problems_json(const std::vector<Problem>& problems) {
  json list = json::array();
  for (const auto& p : problems) list.push_back(problem_json(p));
  return list;
}

json location_json(const LocationResult& location) {
  const ManifestResult& m = location.manifest;
  return {{"scope", location.scope},
          {"directory", path_or_null(location.directory)},
          {"file", path_or_null(m.file)},
          {"state", to_string(m.state)},
          {"host_path", optional_or_null(m.host_path)},
          {"host_is_this_binary", optional_or_null(m.host_is_this_binary)},
          {"problems", problems_json(m.problems)}};
}

json browser_json(const BrowserResult& browser) {
  json locations = json::array();
  for (const auto& l : browser.locations) locations.push_back(location_json(l));
  json out = {{"browser", browser.browser},
              {"status", to_string(browser.status)},
              {"ok", !browser.failed()},
              {"installed", browser.installed},
              {"evidence", path_or_null(browser.evidence)},
              {"locations", locations},
              {"problems", json::array()},
              {"note", browser.note.empty() ? json(nullptr) : json(browser.note)}};
  if (browser.missing) out["problems"].push_back(problem_json(*browser.missing));
  return out;
}

json database_json(const DatabaseResult& db) {
  return {{"path", db.location.path.string()},
          {"source", db.location.source},
          {"exists", db.exists},
          {"ok", db.problems.empty()},
          {"usable", !db.failed()},
          {"state", to_string(db.state)},
          {"mode", db.mode ? json(format_mode(*db.mode)) : json(nullptr)},
          {"integrity",
           {{"checked", db.integrity_checked},
            {"intact", db.integrity_checked && db.damage.empty()},
            {"damage", db.damage}}},
          {"schema_version", optional_or_null(db.schema_version)},
          {"binary_schema_version", db.binary_schema_version},
          {"queues", db.queues.empty() ? json(nullptr) : json(db.queues)},
          {"problems", problems_json(db.problems)}};
}

// Every problem in one list, each naming what it is about, for scripts that only want "what is
// wrong and how do I fix it".
json all_problems(const Report& report) {
  json list = json::array();
  for (const auto& browser : report.browsers) {
    for (const auto& location : browser.locations) {
      for (const auto& p : location.manifest.problems) {
        json entry = problem_json(p);
        entry["browser"] = browser.browser;
        entry["scope"] = location.scope;
        entry["file"] = path_or_null(location.manifest.file);
        list.push_back(entry);
      }
    }
    if (browser.missing) {
      json entry = problem_json(*browser.missing);
      entry["browser"] = browser.browser;
      list.push_back(entry);
    }
  }
  if (report.database) {
    for (const auto& p : report.database->problems) {
      json entry = problem_json(p);
      entry["database"] = report.database->location.path.string();
      list.push_back(entry);
    }
  }
  return list;
}

json summary_json(const Report& report) {
  json summary = {{"ok", json::array()},
                  {"bad", json::array()},
                  {"missing", json::array()},
                  {"not_installed", json::array()}};
  for (const auto& b : report.browsers) summary[to_string(b.status)].push_back(b.browser);
  return summary;
}

}  // namespace

json to_json(const Report& report) {
  json browsers = json::array();
  for (const auto& b : report.browsers) browsers.push_back(browser_json(b));
  return {{"ok", report.ok()},
          {"os", to_string(report.os)},
          {"host", {{"path", path_or_null(report.self)}, {"version", STOFLOW_VERSION}}},
          {"browsers", browsers},
          {"database", report.database ? database_json(*report.database) : json(nullptr)},
          {"problems", all_problems(report)},
          {"summary", summary_json(report)}};
}

}  // namespace stoflow::doctor

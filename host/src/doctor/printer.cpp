#include "doctor/printer.h"

#include <algorithm>
#include <string>
#include <vector>

#include "doctor/report_json.h"
#include "messaging/origins.h"

namespace stoflow::doctor {

namespace {

// Detail lines sit under the path of their location: 2 + 8 (scope) + 6 (marker) columns.
constexpr const char* kDetail = "                ";

// Left-aligns `text` in `width` columns, always leaving at least one space after it.
std::string pad(const std::string& text, size_t width) {
  return text.size() < width ? text + std::string(width - text.size(), ' ') : text + " ";
}

const char* marker(BrowserStatus status) {
  switch (status) {
    case BrowserStatus::kOk:
      return "ok";
    case BrowserStatus::kBad:
      return "BAD";
    case BrowserStatus::kMissing:
      return "MISSING";
    case BrowserStatus::kNotInstalled:
      return "not installed";
  }
  return "?";
}

// Per location "none" rather than "MISSING": one good location is enough for a browser.
const char* marker(ManifestState state) {
  switch (state) {
    case ManifestState::kOk:
      return "ok";
    case ManifestState::kBad:
      return "BAD";
    case ManifestState::kMissing:
      return "none";
  }
  return "?";
}

// A fix of several lines (commands to run one after the other) keeps them aligned.
void print_problem(const Problem& problem, const std::string& indent, std::ostream& out) {
  out << indent << "problem: " << problem.message << "\n";
  std::string fix = problem.fix;
  for (size_t at = fix.find('\n'); at != std::string::npos; at = fix.find('\n', at + 1)) {
    fix.insert(at + 1, indent + "         ");
  }
  out << indent << "fix:     " << fix << "\n";
}

void print_host(const ManifestResult& manifest, std::ostream& out) {
  if (manifest.state != ManifestState::kOk || !manifest.host_path) return;
  out << kDetail << "host: " << *manifest.host_path;
  if (manifest.host_is_this_binary == true) out << " (this binary)";
  if (manifest.host_is_this_binary == false) {
    out << " (another stoflow-host than this one; fine if it is the one you use)";
  }
  out << "\n";
}

void print_location(const LocationResult& location, std::ostream& out) {
  const ManifestResult& manifest = location.manifest;
  std::string where = manifest.file.empty() ? "(unknown)" : manifest.file.string();
  out << "  " << pad(location.scope, 8) << pad(marker(manifest.state), 6) << where << "\n";
  print_host(manifest, out);
  for (const auto& problem : manifest.problems) print_problem(problem, kDetail, out);
}

std::string browser_title(const BrowserResult& browser) {
  if (browser.browser == kUserDataDir) return "user data dir " + browser.evidence.string();
  return browser.browser;
}

void print_browser(const BrowserResult& browser, std::ostream& out) {
  out << browser_title(browser) << ": " << marker(browser.status);
  if (browser.installed && browser.browser != kUserDataDir) {
    out << " (found " << browser.evidence.string() << ")";
  }
  out << "\n";
  for (const auto& location : browser.locations) print_location(location, out);
  if (browser.missing) print_problem(*browser.missing, "  ", out);
  if (!browser.note.empty()) out << "  note: " << browser.note << "\n";
  out << "\n";
}

// Known states in lifecycle order, then any other state the file holds.
std::string queue_counts(const DatabaseResult& db) {
  std::vector<std::string> order = queue_statuses();
  for (const auto& [status, count] : db.queues) {
    if (std::find(order.begin(), order.end(), status) == order.end()) order.push_back(status);
  }
  std::string text;
  for (const auto& status : order) {
    auto it = db.queues.find(status);
    if (it == db.queues.end()) continue;
    text += (text.empty() ? "" : ", ") + status + " " + std::to_string(it->second);
  }
  return text;
}

// BAD when the host cannot use the file, WARNING for a finding that does not stop it.
const char* marker(const DatabaseResult& db) {
  if (db.failed()) return "BAD";
  if (!db.problems.empty()) return "WARNING";
  if (db.state == DatabaseState::kMissing) return "none yet";
  if (db.state == DatabaseState::kEmpty) return "empty";
  return "ok";
}

std::string schema_line(const DatabaseResult& db) {
  std::string version = std::to_string(*db.schema_version);
  std::string ours = std::to_string(db.binary_schema_version);
  switch (db.state) {
    case DatabaseState::kOlder:
      return "version " + version + ", older than this stoflow-host's " + ours +
             ": migrated the next time the host opens it";
    case DatabaseState::kUnrecorded:
      return "not recorded (schema_migrations lost its rows), but the tables are exactly those of "
             "version " +
             version + ": recorded the next time the host opens it";
    case DatabaseState::kNewer:
      return "version " + version + ", newer than this stoflow-host's " + ours;
    default:
      return "version " + version + " (this stoflow-host's)";
  }
}

void print_database(const DatabaseResult& db, std::ostream& out) {
  out << "database: " << marker(db) << "\n";
  out << "  file    " << db.location.path.string() << " (" << db.location.source << ")\n";
  if (db.state == DatabaseState::kMissing)
    out << "  note: the host creates it the first time it runs\n";
  if (db.mode) out << "  mode    " << format_mode(*db.mode) << "\n";
  if (db.integrity_checked && db.damage.empty()) out << "  check   intact (PRAGMA quick_check)\n";
  for (const auto& finding : db.damage) out << "  damage  " << finding << "\n";
  if (db.state == DatabaseState::kEmpty) {
    out << "  note: no tables yet; the host sets them up the first time it runs\n";
  }
  if (db.schema_version) out << "  schema  " << schema_line(db) << "\n";
  if (!db.queues.empty()) out << "  queues  " << queue_counts(db) << "\n";
  for (const auto& problem : db.problems) print_problem(problem, "  ", out);
  out << "\n";
}

// "2 ok (chromium firefox)"; empty when no browser has this status.
std::string tally(const Report& report, BrowserStatus status) {
  std::vector<std::string> names;
  for (const auto& b : report.browsers) {
    if (b.status == status) names.push_back(b.browser);
  }
  if (names.empty()) return "";
  std::string text = std::to_string(names.size()) + " " + marker(status) + " (";
  for (size_t i = 0; i < names.size(); ++i) text += (i ? " " : "") + names[i];
  return text + ")";
}

void print_summary(const Report& report, std::ostream& out) {
  std::string parts;
  for (auto status : {BrowserStatus::kOk, BrowserStatus::kBad, BrowserStatus::kMissing,
                      BrowserStatus::kNotInstalled}) {
    std::string part = tally(report, status);
    if (!part.empty()) parts += (parts.empty() ? "" : ", ") + part;
  }
  out << "Summary: " << (parts.empty() ? "no browser checked" : parts);
  bool warning = false;
  if (report.database) {
    out << "; database " << marker(*report.database);
    warning = !report.database->problems.empty();
  }
  if (!report.ok()) {
    out << ". Fix the BAD and MISSING entries above.\n";
  } else {
    out << (warning ? ". Nothing is broken; see the WARNING above." : ". Nothing to fix.") << "\n";
  }
}

}  // namespace

void print_text(const Report& report, std::ostream& out) {
  out << "StoFlow Companion doctor: native messaging host " << messaging::kNativeHostName << " ("
      << to_string(report.os) << ")\n";
  out << "this binary: " << (report.self.empty() ? "(unknown)" : report.self.string()) << " ("
      << STOFLOW_VERSION << ")\n\n";
  for (const auto& browser : report.browsers) print_browser(browser, out);
  if (report.database) print_database(*report.database, out);
  print_summary(report, out);
}

void print_json(const Report& report, std::ostream& out) {
  out << to_json(report).dump(2) << "\n";
}

}  // namespace stoflow::doctor

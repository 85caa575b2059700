#include "doctor/command.h"

#include <filesystem>
#include <optional>
#include <set>
#include <stdexcept>

#include "doctor/doctor.h"
#include "doctor/printer.h"
#include "doctor/self_exe.h"
#include "util/paths.h"

namespace stoflow::doctor {

namespace {

constexpr int kOk = 0;
constexpr int kFailed = 1;
constexpr int kUsage = 2;

const std::set<std::string> kValueOptions = {"--db", "--browser", "--chrome-user-data-dir"};

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Arguments {
  bool json = false;
  bool help = false;
  std::optional<std::string> db;
  std::vector<std::string> browsers;
  std::vector<std::filesystem::path> user_data_dirs;
};

void apply_value(Arguments& parsed, const std::string& option, const std::string& value) {
  if (value.empty()) throw UsageError(option + " needs a value");
  if (option == "--db") parsed.db = value;
  if (option == "--browser") parsed.browsers.push_back(value);
  // Made absolute like install.sh does, without resolving symbolic links.
  if (option == "--chrome-user-data-dir") {
    parsed.user_data_dirs.push_back(std::filesystem::absolute(value));
  }
}

Arguments parse(const std::vector<std::string>& args) {
  Arguments parsed;
  bool seen_command = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& word = args[i];
    auto eq = word.find('=');
    std::string name = word.substr(0, eq);
    if (word == "--json") {
      parsed.json = true;
    } else if (word == "--help" || word == "-h") {
      parsed.help = true;
    } else if (kValueOptions.contains(name) && eq != std::string::npos) {
      apply_value(parsed, name, word.substr(eq + 1));
    } else if (kValueOptions.contains(word)) {
      if (i + 1 >= args.size()) throw UsageError(word + " needs a value");
      apply_value(parsed, word, args[++i]);
    } else if (word == "doctor" && !seen_command) {
      seen_command = true;
    } else {
      throw UsageError("doctor: unexpected argument \"" + word + "\"");
    }
  }
  return parsed;
}

Setup setup_from(const Arguments& parsed) {
  Setup setup;
  setup.env = PathEnvironment::from_process();
  setup.forced_os = env("STOFLOW_INSTALL_OS");
  setup.self = current_executable();
  try {
    setup.browsers = select_browsers(parsed.browsers);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  setup.chrome_user_data_dirs = parsed.user_data_dirs;
  setup.database = locate_database(parsed.db);
  return setup;
}

}  // namespace

bool is_doctor_command(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (kValueOptions.contains(args[i])) {
      ++i;  // skip the option's value
    } else if (args[i].rfind("-", 0) != 0) {
      return args[i] == "doctor";
    }
  }
  return false;
}

void print_usage(std::ostream& out) {
  out << R"(Usage: stoflow-host [--db PATH] doctor [--json] [--browser NAME]...
                                          [--chrome-user-data-dir DIR]...

Checks that each browser can start this host: for Chrome, Chromium, Edge, Brave, Vivaldi and
Firefox, per user and system-wide, whether com.stoflow.companion.json is where the browser looks
(the locations of installer/browsers.tsv), is valid, points to an executable stoflow-host and
allows the StoFlow Companion extension; then checks the database, read-only: whether it is intact
(PRAGMA quick_check, about as long as reading the file once), and its schema version against this
binary's. Each problem comes with a fix.

  --json                      print the report as JSON
  --browser NAME              only this browser (chrome, chromium, edge, brave, vivaldi, firefox,
                              all); repeatable or comma-separated
  --chrome-user-data-dir DIR  also check DIR/NativeMessagingHosts (a browser started with
                              --user-data-dir=DIR); repeatable
  --db PATH                   the database to check ($STOFLOW_DB wins, as for every command)

Exit status: 0 every installed browser is registered, no manifest is broken and the database is
usable (or not created yet), 1 otherwise (a damaged database, one written by a newer stoflow-host,
a foreign or unreadable file), 2 bad usage.
)";
}

int run_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  try {
    Arguments parsed = parse(args);
    if (parsed.help) {
      print_usage(out);
      return kOk;
    }
    Report report = diagnose(setup_from(parsed));
    if (parsed.json) {
      print_json(report, out);
    } else {
      print_text(report, out);
    }
    return report.ok() ? kOk : kFailed;
  } catch (const UsageError& e) {
    err << "stoflow-host: " << e.what() << "\n(see stoflow-host doctor --help)\n";
    return kUsage;
  } catch (const std::exception& e) {
    err << "stoflow-host doctor: " << e.what() << "\n";
    return kFailed;
  }
}

}  // namespace stoflow::doctor

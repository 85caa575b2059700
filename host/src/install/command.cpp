#include "install/command.h"

#include <unistd.h>

#include <filesystem>
#include <iomanip>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "doctor/self_exe.h"
#include "install/installer.h"
#include "messaging/origins.h"
#include "util/paths.h"

namespace stoflow::install {

namespace {

namespace fs = std::filesystem;

constexpr int kOk = 0;
constexpr int kFailed = 1;
constexpr int kUsage = 2;

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Arguments {
  std::string command;  // "install" or "uninstall"
  bool help = false;
  bool quiet = false;
  doctor::Scope scope = doctor::Scope::kUser;
  std::vector<std::string> browsers;
  std::vector<std::string> user_data_dirs;
};

bool is_command_word(const std::string& word) {
  return word == "install" || word == "uninstall";
}

// The first word that is neither an option nor an option's value.
std::string command_word(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--browser" || args[i] == "--chrome-user-data-dir" || args[i] == "--db") {
      ++i;  // skip the option's value (--db, which every other command takes, is refused later)
    } else if (args[i].rfind("-", 0) != 0) {
      return args[i];
    }
  }
  return "";
}

void apply_value(Arguments& parsed, const std::string& option, const std::string& value) {
  if (option == "--browser") {
    if (value.empty()) {
      throw UsageError(
          "--browser needs a name (chrome chromium edge brave vivaldi firefox, or all)");
    }
    parsed.browsers.push_back(value);
  } else {
    if (value.empty()) throw UsageError("--chrome-user-data-dir needs a directory");
    parsed.user_data_dirs.push_back(value);
  }
}

Arguments parse(const std::vector<std::string>& args) {
  Arguments parsed;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& word = args[i];
    auto eq = word.find('=');
    std::string name = word.substr(0, eq);
    bool takes_value = name == "--browser" || name == "--chrome-user-data-dir";
    if (word == "--help" || word == "-h") {
      parsed.help = true;
    } else if (word == "--quiet" || word == "-q") {
      parsed.quiet = true;
    } else if (word == "--user") {
      parsed.scope = doctor::Scope::kUser;
    } else if (word == "--system") {
      parsed.scope = doctor::Scope::kSystem;
    } else if (takes_value && eq != std::string::npos) {
      apply_value(parsed, name, word.substr(eq + 1));
    } else if (takes_value) {
      if (i + 1 >= args.size()) throw UsageError(word + " needs a value");
      apply_value(parsed, word, args[++i]);
    } else if (name == "--db") {
      throw UsageError("--db does not apply: install and uninstall use no database");
    } else if (parsed.command.empty() && is_command_word(word)) {
      parsed.command = word;
    } else if (word.rfind("-", 0) == 0) {
      throw UsageError("unknown option '" + word + "'");
    } else {
      throw UsageError("unexpected argument '" + word + "'");
    }
  }
  return parsed;
}

Request request_from(const Arguments& parsed) {
  Request request;
  request.scope = parsed.scope;
  try {
    request.browsers = doctor::select_browsers(parsed.browsers);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  if (!parsed.user_data_dirs.empty() && request.browsers == std::vector<std::string>{"firefox"}) {
    throw UsageError(
        "--chrome-user-data-dir applies to Chromium-family browsers, but only firefox is selected");
  }
  for (const auto& dir : parsed.user_data_dirs) {
    // Made absolute as install.sh and doctor make it, without resolving symbolic links.
    fs::path absolute = fs::absolute(dir);
    std::error_code ec;
    if (parsed.command == "install" && fs::exists(absolute, ec) &&
        !fs::is_directory(absolute, ec)) {
      throw std::runtime_error("--chrome-user-data-dir: " + absolute.string() +
                               " exists and is not a directory");
    }
    request.chrome_user_data_dirs.push_back(absolute);
  }
  return request;
}

// `registry` keeps this system's registry (none on POSIX) alive for as long as the Environment.
Environment environment_from_process(std::unique_ptr<Registry>& registry) {
  Environment env;
  env.os = doctor::resolve_os(stoflow::env("STOFLOW_INSTALL_OS"));
  env.paths = doctor::PathEnvironment::from_process();
  env.host = doctor::current_executable();
  if (env.host.empty()) {
    throw std::runtime_error("cannot tell where this stoflow-host is (the system will not say)");
  }
  env.privileged = ::geteuid() == 0;
  if (env.os == doctor::Os::kWindows) {
    // %LOCALAPPDATA%\StoFlow\NativeMessagingHosts, where install.ps1 writes its manifests.
    registry = system_registry();
    env.registry = registry.get();
    env.windows_manifest_dir = default_data_dir() / "NativeMessagingHosts";
  }
  return env;
}

// install.sh's `printf '%-9s'`.
std::string pad(const std::string& text, int width) {
  std::ostringstream out;
  out << std::left << std::setw(width) << text;
  return out.str();
}

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names) text += " " + name;
  return text;
}

// What a packaged host (the .deb: /usr/bin/stoflow-host) ships beside it: the extension to load.
std::optional<fs::path> packaged_extension(const fs::path& host) {
  fs::path dir = host.parent_path().parent_path() / "share" / "stoflow-companion" / "extension";
  std::error_code ec;
  if (fs::is_regular_file(dir / "manifest.json", ec)) return dir;
  return std::nullopt;
}

class Printer {
 public:
  Printer(const Arguments& parsed, std::ostream& out, std::ostream& err)
      : quiet_(parsed.quiet), prog_("stoflow-host " + parsed.command), out_(out), err_(err) {}

  void say(const std::string& line) {
    if (!quiet_) out_ << line << "\n";
  }
  void warn(const std::string& message) { err_ << prog_ << ": warning: " << message << "\n"; }
  void error(const std::string& message) { err_ << prog_ << ": error: " << message << "\n"; }

  // One line per location, failures as errors and what is left alone as warnings.
  void steps(const Outcome& outcome, int action_width) {
    for (const auto& step : outcome.steps) {
      if (step.action == Action::kFailed) {
        error(step.detail);
        continue;
      }
      if (step.action == Action::kLeftAlone) warn(step.detail);
      std::string action = to_string(step.action);
      if (step.action == Action::kKept && !step.detail.empty()) {
        action += " (" + (step.label == "manifest" ? step.detail : "used by " + step.detail) + ")";
      }
      if (step.action == Action::kSameTarget && !step.value.empty()) action = "(same key)";
      std::string line =
          "  " + pad(step.label, 9) + " " + pad(action, action_width) + " " + step.target;
      if (!step.value.empty() && step.action != Action::kSameTarget) line += " = " + step.value;
      say(line);
    }
  }

 private:
  bool quiet_;
  std::string prog_;
  std::ostream& out_;
  std::ostream& err_;
};

std::string heading(const char* verb, const Outcome& outcome) {
  return std::string("StoFlow Companion: ") + verb + " native messaging host " +
         messaging::kNativeHostName + " (" + doctor::to_string(outcome.os) + ", " +
         doctor::to_string(outcome.scope) + " scope)";
}

// What the steps are about: manifest files, and on Windows registry keys as well.
std::string things(const Outcome& outcome) {
  return outcome.os == doctor::Os::kWindows ? "manifest(s) or key(s)" : "manifest(s)";
}

int run_install(const Arguments& parsed, Printer& print) {
  Request request = request_from(parsed);
  std::unique_ptr<Registry> registry;
  Environment env = environment_from_process(registry);
  bool tests_redirect = stoflow::env("STOFLOW_INSTALL_ROOT") || stoflow::env("STOFLOW_INSTALL_OS");
  if (request.scope == doctor::Scope::kUser && env.privileged && !tests_redirect) {
    print.warn("running as root with --user installs for root's HOME (" +
               env.paths.home.value_or("") + ") only; use --system for every user");
  }
  Outcome outcome = install(request, env);
  print.say(heading("registering", outcome));
  print.say("  host: " + outcome.host.string());
  print.steps(outcome, 11);
  size_t failed = outcome.count(Action::kFailed);
  if (failed > 0) {
    print.error(std::to_string(failed) + " " + things(outcome) + " could not be written");
    return kFailed;
  }
  if (outcome.probed) {
    print.say("Browsers found:" + (outcome.found.empty() ? " none" : joined(outcome.found)));
    if (!outcome.not_found.empty()) {
      print.say("Not found (registered anyway, they will work once installed):" +
                joined(outcome.not_found));
    }
  }
  size_t in_place = outcome.steps.size() - outcome.count(Action::kSameTarget);
  print.say("Done: " + std::to_string(in_place) + " " + things(outcome) +
            " in place. Restart the browser if it was running, then load the "
            "extension (docs/install.md).");
  if (auto extension = packaged_extension(outcome.host)) {
    print.say("The extension to load unpacked is " + extension->string());
  }
  return kOk;
}

int run_uninstall(const Arguments& parsed, Printer& print) {
  Request request = request_from(parsed);
  std::unique_ptr<Registry> registry;
  Environment env = environment_from_process(registry);
  Outcome outcome = uninstall(request, env);
  print.say(heading("unregistering", outcome));
  print.steps(outcome, 13);
  size_t failed = outcome.count(Action::kFailed);
  if (failed > 0) {
    print.error(std::to_string(failed) + " " + things(outcome) + " could not be removed");
    return kFailed;
  }
  print.say("Done: " + std::to_string(outcome.count(Action::kRemoved)) + " " + things(outcome) +
            " removed. The browser extension itself is removed from the browser's "
            "extensions page.");
  return kOk;
}

}  // namespace

bool is_install_command(const std::vector<std::string>& args) {
  return is_command_word(command_word(args));
}

void print_usage(std::ostream& out) {
  out << R"(Usage: stoflow-host install   [--user | --system] [--browser NAME]... [--chrome-user-data-dir DIR]...
       stoflow-host uninstall [--user | --system] [--browser NAME]... [--chrome-user-data-dir DIR]...

install registers this stoflow-host, by its absolute path, as the native messaging host
com.stoflow.companion with Chrome, Chromium, Edge, Brave, Vivaldi and Firefox: it writes a host
manifest wherever installer/browsers.tsv (built into this binary) says each browser looks, browsers
that are not installed yet included, so they work as soon as they are installed. Running it again
rewrites only what changed. uninstall removes the manifests that are ours (their "name" is
com.stoflow.companion and their "path" names a stoflow-host); directories and any other file stay.

  --user                      the current user's registration (default)
  --system                    every user's (needs root: sudo)
  --browser NAME              only chrome, chromium, edge, brave, vivaldi, firefox (or all);
                              repeatable, or comma-separated. Default: all
  --chrome-user-data-dir DIR  also DIR/NativeMessagingHosts, for a Chromium-family browser started
                              with --user-data-dir=DIR; repeatable
  --quiet                     print errors only

Exit status: 0 done, 1 a failure (a location could not be written or removed), 2 bad usage.
)";
}

int run_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::string prog = "stoflow-host " + command_word(args);
  try {
    Arguments parsed = parse(args);
    if (parsed.help) {
      print_usage(out);
      return kOk;
    }
    if (parsed.command.empty()) throw UsageError("install or uninstall?");
    Printer print(parsed, out, err);
    return parsed.command == "install" ? run_install(parsed, print) : run_uninstall(parsed, print);
  } catch (const UsageError& e) {
    err << prog << ": error: " << e.what() << "\nTry '" << prog << " --help'.\n";
    return kUsage;
  } catch (const std::exception& e) {
    err << prog << ": error: " << e.what() << "\n";
    return kFailed;
  }
}

}  // namespace stoflow::install

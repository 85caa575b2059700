// stoflow-host: a native-messaging host when a browser starts it, a CLI
// otherwise. Either way a thin front end over stoflow::service.
#include <iostream>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "install/command.h"
#include "messaging/native_host.h"
#include "messaging/origins.h"
#include "platform/host_io.h"
#include "service/service.h"
#include "util/log.h"
#include "util/paths.h"

namespace {

using namespace stoflow;

void configure_logging(const std::filesystem::path& db_path, log::Level fallback) {
  // The data directory is created private before anything (the log) lands in it.
  ensure_private_dir(db_path.parent_path());
  log::Options options;
  options.level = log::level_from_string(env("STOFLOW_LOG_LEVEL").value_or(""), fallback);
  options.file = db_path.parent_path() / "logs" / "stoflow-host.log";
  log::configure(options);
}

// The CLI's --db also decides where its log goes.
std::optional<std::string> cli_db_option(const std::vector<std::string>& args) {
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--db") return args[i + 1];
  }
  return std::nullopt;
}

int run_native(const messaging::NativeCaller& caller) {
  // First of all: nothing may reach the browser's pipe but our frames.
  int protocol_out = messaging::take_over_stdout();
  auto db_path = resolve_db_path(std::nullopt);
  configure_logging(db_path, log::Level::kInfo);
  if (!messaging::is_allowed(caller)) {
    log::error("refusing to serve " + caller.browser + " caller " + caller.identity +
               ": not the StoFlow Companion extension");
    return 1;
  }
  service::Service service(service::Config::from_environment(db_path));
  messaging::NativeHost host(service, caller.browser + " " + caller.identity,
                             {STDIN_FILENO, protocol_out});
  return host.run();
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args = platform::arguments(argc, argv);
  platform::binary_stdio();
  try {
    if (auto caller = messaging::detect_native_launch(args)) return run_native(*caller);
    // install and uninstall use no database: they create no data directory and write no log.
    if (!install::is_install_command(args)) {
      configure_logging(resolve_db_path(cli_db_option(args)), log::Level::kWarn);
    }
    // CLI mode: stdout is the user's terminal, the one place we print to it.
    return cli::run(args, std::cout, std::cerr);
  } catch (const std::exception& e) {
    log::error(std::string("fatal: ") + e.what());
    return 1;
  }
}

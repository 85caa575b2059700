#include "cli/serve.h"

#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <ostream>
#include <thread>

#include "cli/cli.h"
#include "http/access.h"
#include "http/api_server.h"
#include "util/log.h"
#include "util/paths.h"

namespace stoflow::cli {

namespace fs = std::filesystem;

namespace {

fs::path token_path(const ServeOptions& options) {
  return options.token_file.value_or(http::default_token_path());
}

// One-time dashboard codes: written by `dashboard`, consumed by `serve`.
fs::path login_code_dir(const ServeOptions& options) {
  return token_path(options).parent_path() / "login-codes";
}

// Where `serve` leaves its port for `dashboard` to find.
fs::path port_file(const ServeOptions& options) {
  return token_path(options).parent_path() / "serve.port";
}

void try_open(const std::string& url) {
#if defined(__APPLE__)
  const char* opener = "open";
#else
  const char* opener = "xdg-open";
#endif
  pid_t pid = fork();
  if (pid == 0) {
    execlp(opener, opener, url.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
}

}  // namespace

int run_serve(const ServeOptions& options, std::ostream& out, std::ostream& err) {
  // Signals are taken by one thread with sigwait, so the server's threads
  // never run a handler and stop() is called from ordinary code.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  service::Service service(service::Config::from_environment(resolve_db_path(options.db)));
  std::string token = http::load_or_create_token(token_path(options));
  http::ApiServer server(service, token, login_code_dir(options));
  int port = server.bind(options.port.value_or(http::kDefaultPort));
  if (port <= 0) {
    err << "stoflow-host: cannot listen on 127.0.0.1:" << options.port.value_or(http::kDefaultPort)
        << " (in use? choose another with --port)\n";
    return kFailed;
  }
  std::ofstream(port_file(options)) << port << "\n";
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    log::info("HTTP server stopping on signal " + std::to_string(sig));
    server.stop();
  });
  out << "StoFlow API and dashboard on http://127.0.0.1:" << port << "/ (token in "
      << token_path(options).string() << ")" << std::endl;
  log::info("HTTP server listening on 127.0.0.1:" + std::to_string(port));
  server.run();
  // Wake the waiter if the server stopped for another reason.
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  return kOk;
}

int run_dashboard(const ServeOptions& options, std::ostream& out, std::ostream& err) {
  int port = options.port.value_or(0);
  if (port == 0) {
    std::ifstream in(port_file(options));
    if (!(in >> port)) port = http::kDefaultPort;
  }
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(3);
  if (!client.Get("/favicon.ico")) {
    err << "stoflow-host: no server on 127.0.0.1:" << port
        << "; start it with `stoflow-host serve` first\n";
    return kFailed;
  }
  // The code goes through a private file, not the network: whatever listens
  // on that port learns nothing it could use unless it is our server.
  std::string code = http::write_login_code(login_code_dir(options));
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/login.html?code=" + code;
  out << url << std::endl;
  if (options.open_browser) try_open(url);
  return kOk;
}

}  // namespace stoflow::cli

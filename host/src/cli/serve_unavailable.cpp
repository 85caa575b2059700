// The Windows build's `serve` and `dashboard` until the HTTP server's request
// screener is ported (it polls sockets and a wake-up pipe; see "Platforms" in
// docs/architecture.md).
#include <ostream>

#include "cli/cli.h"
#include "cli/serve.h"

namespace stoflow::cli {

namespace {

int unavailable(const char* command, std::ostream& err) {
  err << "stoflow-host: " << command << " is not available on Windows yet\n";
  return kFailed;
}

}  // namespace

int run_serve(const ServeOptions&, std::ostream&, std::ostream& err) {
  return unavailable("serve", err);
}

int run_dashboard(const ServeOptions&, std::ostream&, std::ostream& err) {
  return unavailable("dashboard", err);
}

}  // namespace stoflow::cli

#pragma once
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>

namespace stoflow::cli {

struct ServeOptions {
  std::optional<std::string> db;
  std::optional<int> port;
  std::optional<std::filesystem::path> token_file;
  bool open_browser = true;
};

// `serve`: the local HTTP API and dashboard until SIGINT/SIGTERM.
int run_serve(const ServeOptions& options, std::ostream& out, std::ostream& err);
// `dashboard`: asks the running server for a one-time login link and opens it.
int run_dashboard(const ServeOptions& options, std::ostream& out, std::ostream& err);

}  // namespace stoflow::cli

#pragma once
// What the integration suites share: a temporary data directory with the
// environment that points the real binary at it, and a stand-in for the
// extension's executor that answers tasks the way Vinted would.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "test_support.h"

namespace stoflow::testing {

struct HostEnv {
  TempDir dir;
  std::map<std::string, std::string> env;

  HostEnv() {
    env = {{"STOFLOW_DB", (dir / "data" / "stoflow.db").string()},
           {"HOME", dir.path().string()},
           {"XDG_DATA_HOME", (dir / "xdg").string()}};
  }
  std::string db() const { return env.at("STOFLOW_DB"); }

  CommandResult cli(const std::vector<std::string>& args) const { return run_host_cli(args, env); }
  // The same, killed after `limit`: a command that would hang fails its test
  // (exit_code -1, "killed after" in err) instead of stopping the suite.
  CommandResult cli_within(const std::vector<std::string>& args,
                           std::chrono::milliseconds limit) const;

  // Imports products through the CLI; returns their ids.
  std::vector<int64_t> import(const json& products) const;
  // One product with `sizes.size()` PNG photos of those sizes; returns its id
  // and fills `photos` with the bytes in order.
  int64_t product_with_photos(const std::string& title, const std::vector<size_t>& sizes,
                              std::vector<std::string>* photos = nullptr) const;
};

// Runs a program (inheriting the test's environment plus `env`), killing it
// after `limit`; then exit_code is -1 and err ends with "killed after".
CommandResult run_program_within(const std::vector<std::string>& argv,
                                 const std::map<std::string, std::string>& env,
                                 std::chrono::milliseconds limit);

// `stoflow-host serve --port 0` as a child process; knows its port and token.
class ServeProcess {
 public:
  // Throws when serve does not come up (and then leaves no process behind).
  explicit ServeProcess(const HostEnv& env, int port = 0);
  ~ServeProcess();
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;
  int port() const { return port_; }
  const std::string& token() const { return token_; }
  pid_t pid() const { return pid_; }
  // Sends SIGTERM and waits up to `limit` for serve to exit 0; returns how
  // long that took, or nullopt (serve is then killed).
  std::optional<std::chrono::milliseconds> terminate(std::chrono::milliseconds limit);

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string token_;
};

// A TCP connection to 127.0.0.1:port (fails the test if refused); the caller closes it.
int connect_loopback(int port);

// Reads a multipart file reference through blobs.read, chunk by chunk.
std::string read_blob(HostProcess& host, const json& file_ref);

// A Vinted-like response for a leased task; photo ids are 1000 + task id.
json vinted_response(const json& task);

// The entry of `doctor --json`'s report for one browser; fails the test when there is none.
json browser_in(const json& report, const std::string& name);

}  // namespace stoflow::testing

#pragma once
// Helpers shared by the Boost.Test suites: temporary directories, real image
// bytes, and a driver that runs the real stoflow-host binary over pipes the
// way a browser does.
#include <sys/types.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "photos.h"

namespace stoflow::testing {

using nlohmann::json;

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

void write_file(const std::filesystem::path& path, const std::string& bytes);
std::string read_file(const std::filesystem::path& path);
std::string base64_decode(const std::string& text);

// A product file with the photos written beside it; returns the file's path.
std::filesystem::path write_product_file(const std::filesystem::path& dir, const json& products);
json vinted_product(const std::string& title, const std::vector<std::string>& images);

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// The host under test: STOFLOW_HOST_BIN of the build, or STOFLOW_TEST_HOST_BIN
// when set (the Windows run: build/windows/stoflow-host.exe).
std::filesystem::path host_binary();
// The command that starts it: the binary, preceded by STOFLOW_TEST_HOST_WRAPPER
// when set (the Windows run: scripts/lib/wine-run).
std::vector<std::string> host_command();
// True in the Windows run (the host is an exe run through wine).
bool windows_host();
// Runs a program to its end. With inherit_environment false, `env` is its
// whole environment (so nothing of the test runner's, such as
// XDG_CONFIG_HOME, can leak in).
CommandResult run_program(const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env, bool inherit_environment);
CommandResult run_host_cli(const std::vector<std::string>& args,
                           const std::map<std::string, std::string>& env);

// The real binary in native-messaging mode, as a browser starts it.
class HostProcess {
 public:
  HostProcess(std::map<std::string, std::string> env,
              std::vector<std::string> args = {
                  "chrome-extension://kikocaejcljggdneaelndeobljajgmho/"});
  ~HostProcess();
  HostProcess(const HostProcess&) = delete;
  HostProcess& operator=(const HostProcess&) = delete;

  void send_raw(const std::string& bytes);
  void send(const json& message);
  // Sends a request and waits for its response, keeping notifications seen meanwhile.
  json call(const std::string& method, const json& params = json::object(),
            std::chrono::milliseconds timeout = std::chrono::seconds(10));
  json result_of(const std::string& method, const json& params = json::object());
  // The next frame, or nullopt on timeout/EOF.
  std::optional<json> receive(std::chrono::milliseconds timeout);
  std::optional<json> wait_notification(const std::string& method,
                                        std::chrono::milliseconds timeout);
  void close_stdin();
  // Exit status, or nullopt if still running after the timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  void kill_hard();
  void signal(int sig);
  pid_t pid() const { return pid_; }
  // The process's peak resident memory so far (VmHWM), in KiB; -1 if unknown.
  int64_t peak_memory_kib() const;
  std::string stderr_text() const;
  bool eof() const { return eof_; }

 private:
  bool read_exact(std::string& out, size_t n, std::chrono::steady_clock::time_point deadline);
  pid_t pid_ = -1;
  int to_host_ = -1;
  int from_host_ = -1;
  std::filesystem::path stderr_path_;
  std::vector<json> notifications_;
  int next_id_ = 1;
  bool eof_ = false;
  std::optional<int> status_;
};

}  // namespace stoflow::testing

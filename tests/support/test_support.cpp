#include "test_support.h"

#ifndef _WIN32  // the Windows unit tests use the portable part only
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include <array>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#ifndef _WIN32
extern char** environ;
#endif

namespace stoflow::testing {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

TempDir::TempDir() {
#ifdef _WIN32
  static std::mt19937_64 random{std::random_device{}()};
  for (;;) {
    fs::path candidate = fs::temp_directory_path() / ("stoflow-test-" + std::to_string(random()));
    if (fs::create_directory(candidate)) {
      path_ = candidate;
      return;
    }
  }
#else
  std::string pattern = (fs::temp_directory_path() / "stoflow-test-XXXXXX").string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
#endif
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void write_file(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string base64_decode(const std::string& text) {
  static const auto table = [] {
    std::array<int8_t, 256> t{};
    t.fill(-1);
    const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < alphabet.size(); ++i)
      t[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
    return t;
  }();
  std::string out;
  out.reserve(text.size() / 4 * 3);
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=') break;
    int8_t value = table[static_cast<unsigned char>(c)];
    if (value < 0) throw std::runtime_error("bad base64");
    buffer = (buffer << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  return out;
}

json vinted_product(const std::string& title, const std::vector<std::string>& images) {
  return {{"title", title},
          {"description", "A well kept " + title + ", worn twice."},
          {"price_cents", 2790},
          {"currency", "EUR"},
          {"images", images},
          {"vinted",
           {{"catalog_id", 1839},
            {"brand_id", 53},
            {"size_id", 207},
            {"status_id", 2},
            {"color_ids", {9}},
            {"package_size_id", 2}}}};
}

fs::path write_product_file(const fs::path& dir, const json& products) {
  fs::path file = dir / "products.json";
  write_file(file, products.dump(2));
  return file;
}

fs::path host_binary() {
  const char* windows_exe = std::getenv("STOFLOW_TEST_HOST_BIN");
  return windows_exe && *windows_exe ? fs::path(windows_exe) : fs::path(STOFLOW_HOST_BIN);
}

std::vector<std::string> host_command() {
  std::vector<std::string> command;
  const char* wrapper = std::getenv("STOFLOW_TEST_HOST_WRAPPER");
  if (wrapper && *wrapper) command.emplace_back(wrapper);
  command.push_back(host_binary().string());
  return command;
}

bool windows_host() {
  const char* windows_exe = std::getenv("STOFLOW_TEST_HOST_BIN");
  return windows_exe && *windows_exe;
}

#ifndef _WIN32  // processes: the Linux test binaries only

namespace {

std::vector<std::string> merged_env(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string entry(*e);
    auto eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& [k, v] : extra) env[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

std::string drain(int fd) {
  std::string out;
  char buffer[65536];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace

CommandResult run_program(const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env, bool inherit_environment) {
  std::vector<std::string> env_strings;
  if (inherit_environment) {
    env_strings = merged_env(env);
  } else {
    for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  }
  std::vector<std::string> args = argv;
  auto argv_c = c_strings(args);
  auto env_c = c_strings(env_strings);
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv_c[0], &actions, nullptr, argv_c.data(), env_c.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  CommandResult result;
  std::thread err_reader([&] { result.err = drain(err_pipe[0]); });
  result.out = drain(out_pipe[0]);
  err_reader.join();
  ::close(out_pipe[0]);
  ::close(err_pipe[0]);
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

CommandResult run_host_cli(const std::vector<std::string>& args,
                           const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv = host_command();
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv, env, true);
}

HostProcess::HostProcess(std::map<std::string, std::string> env, std::vector<std::string> args) {
  int in_pipe[2], out_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  stderr_path_ =
      fs::temp_directory_path() / ("stoflow-host-stderr-" + std::to_string(getpid()) + "-" +
                                   std::to_string(reinterpret_cast<uintptr_t>(this)) + ".log");
  std::vector<std::string> argv_strings = host_command();
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  auto env_strings = merged_env(env);
  auto argv_c = c_strings(argv_strings);
  auto env_c = c_strings(env_strings);
  pid_ = fork();
  if (pid_ == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    int err = ::open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(err, 2);
    execve(argv_c[0], argv_c.data(), env_c.data());
    _exit(127);
  }
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  to_host_ = in_pipe[1];
  from_host_ = out_pipe[0];
  ::signal(SIGPIPE, SIG_IGN);
}

HostProcess::~HostProcess() {
  if (to_host_ >= 0) ::close(to_host_);
  if (!status_ && pid_ > 0) {
    if (!wait_exit(std::chrono::seconds(5))) {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  if (from_host_ >= 0) ::close(from_host_);
  std::error_code ec;
  fs::remove(stderr_path_, ec);
}

std::string HostProcess::stderr_text() const {
  return read_file(stderr_path_);
}

void HostProcess::send_raw(const std::string& bytes) {
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(to_host_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error("host stdin closed");
    p += n;
    left -= static_cast<size_t>(n);
  }
}

void HostProcess::send(const json& message) {
  std::string body = message.dump();
  uint32_t length = static_cast<uint32_t>(body.size());
  std::string frame(reinterpret_cast<const char*>(&length), sizeof length);
  send_raw(frame + body);
}

bool HostProcess::read_exact(std::string& out, size_t n, Clock::time_point deadline) {
  out.clear();
  while (out.size() < n) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{from_host_, POLLIN, 0};
    int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready <= 0) continue;
    std::string chunk(n - out.size(), '\0');
    ssize_t got = ::read(from_host_, chunk.data(), chunk.size());
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      eof_ = true;
      return false;
    }
    out.append(chunk.data(), static_cast<size_t>(got));
  }
  return true;
}

std::optional<json> HostProcess::receive(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  std::string header;
  if (!read_exact(header, 4, deadline)) return std::nullopt;
  uint32_t length = 0;
  std::memcpy(&length, header.data(), 4);
  if (length > 1024 * 1024) throw std::runtime_error("host sent a frame over 1 MiB");
  std::string body;
  // A frame the host started must arrive whole, whatever the caller's timeout.
  if (!read_exact(body, length, Clock::now() + std::chrono::seconds(30))) {
    throw std::runtime_error("host sent a truncated frame");
  }
  return json::parse(body);
}

json HostProcess::call(const std::string& method, const json& params,
                       std::chrono::milliseconds timeout) {
  int id = next_id_++;
  send({{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}});
  auto deadline = Clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    auto message = receive(left);
    if (!message) throw std::runtime_error("no response to " + method);
    if (message->contains("method")) {
      notifications_.push_back(*message);
      continue;
    }
    if ((*message)["id"] == id) return *message;
  }
}

json HostProcess::result_of(const std::string& method, const json& params) {
  json response = call(method, params);
  if (response.contains("error")) {
    throw std::runtime_error(method + " failed: " + response["error"].dump());
  }
  return response["result"];
}

std::optional<json> HostProcess::wait_notification(const std::string& method,
                                                   std::chrono::milliseconds timeout) {
  for (auto it = notifications_.begin(); it != notifications_.end(); ++it) {
    if ((*it)["method"] == method) {
      json found = *it;
      notifications_.erase(it);
      return found;
    }
  }
  auto deadline = Clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto message = receive(left);
    if (!message) return std::nullopt;
    if ((*message)["method"] == method) return message;
  }
}

void HostProcess::close_stdin() {
  if (to_host_ >= 0) ::close(to_host_);
  to_host_ = -1;
}

std::optional<int> HostProcess::wait_exit(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    int status = 0;
    pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return status_;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return std::nullopt;
}

void HostProcess::kill_hard() {
  ::kill(pid_, SIGKILL);
  wait_exit(std::chrono::seconds(5));
}

void HostProcess::signal(int sig) {
  ::kill(pid_, sig);
}

}  // namespace stoflow::testing

namespace stoflow::testing {

int64_t HostProcess::peak_memory_kib() const {
  std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

#endif  // _WIN32

}  // namespace stoflow::testing

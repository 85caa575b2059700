#include "harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <regex>

extern char** environ;

namespace stoflow::testing {

std::vector<int64_t> HostEnv::import(const json& products) const {
  auto file = write_product_file(dir / "catalogue", products);
  auto r = cli({"products", "import", file.string(), "--json"});
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, "import failed: " + r.err);
  return json::parse(r.out).get<std::vector<int64_t>>();
}

int64_t HostEnv::product_with_photos(const std::string& title, const std::vector<size_t>& sizes,
                                     std::vector<std::string>* photos) const {
  std::vector<std::string> names;
  for (size_t i = 0; i < sizes.size(); ++i) {
    std::string name = title + "-" + std::to_string(i + 1) + ".png";
    std::string bytes = png_bytes(sizes[i], static_cast<unsigned>(i * 31 + title.size()));
    write_file(dir / "catalogue" / name, bytes);
    names.push_back(name);
    if (photos) photos->push_back(bytes);
  }
  return import(json::array({vinted_product(title, names)}))[0];
}

CommandResult HostEnv::cli_within(const std::vector<std::string>& args,
                                  std::chrono::milliseconds limit) const {
  std::vector<std::string> argv = host_command();
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program_within(argv, env, limit);
}

CommandResult run_program_within(const std::vector<std::string>& argv,
                                 const std::map<std::string, std::string>& env,
                                 std::chrono::milliseconds limit) {
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e; ++e) {
    std::string entry(*e);
    auto eq = entry.find('=');
    if (eq != std::string::npos) merged[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& [k, v] : env) merged[k] = v;
  std::vector<std::string> args = argv, environment;
  for (const auto& [k, v] : merged) environment.push_back(k + "=" + v);
  std::vector<char*> argv_c, envp;
  for (auto& a : args) argv_c.push_back(a.data());
  argv_c.push_back(nullptr);
  for (auto& e : environment) envp.push_back(e.data());
  envp.push_back(nullptr);

  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDONLY);
    dup2(null, 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    execve(argv_c[0], argv_c.data(), envp.data());
    _exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  CommandResult result;
  auto deadline = std::chrono::steady_clock::now() + limit;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_pipes = 2;
  bool killed = false;
  while (open_pipes > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(pid, SIGKILL);
      killed = true;
      break;
    }
    int ready = ::poll(fds, 2, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buffer[4096];
      ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_pipes;
      }
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) ::close(f.fd);
  }
  int status = 0;
  while (!killed && waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      killed = true;
      break;
    }
    usleep(10000);
  }
  if (killed) waitpid(pid, &status, 0);
  if (killed) {
    result.exit_code = -1;
    result.err += "\n[killed after " + std::to_string(limit.count()) + " ms]";
  } else {
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  return result;
}

ServeProcess::ServeProcess(const HostEnv& env, int port) {
  auto token_file = env.dir / "config" / "api-token";
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  std::vector<std::string> args = {host_binary().string(), "serve",        "--port",
                                   std::to_string(port),   "--token-file", token_file.string()};
  std::vector<std::string> environment;
  for (char** e = environ; *e; ++e) environment.emplace_back(*e);
  for (const auto& [k, v] : env.env) environment.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : environment) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_ = fork();
  if (pid_ == 0) {
    dup2(out[1], 1);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  ::close(out[1]);
  std::string line;
  char c = 0;
  pollfd pfd{out[0], POLLIN, 0};
  while (line.find('\n') == std::string::npos && ::poll(&pfd, 1, 10000) > 0 &&
         ::read(out[0], &c, 1) == 1) {
    line.push_back(c);
  }
  ::close(out[0]);
  std::smatch m;
  if (!std::regex_search(line, m, std::regex("127\\.0\\.0\\.1:(\\d+)"))) {
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    throw std::runtime_error("serve did not print its address: " + line);
  }
  port_ = std::stoi(m[1]);
  token_ = read_file(token_file);
  while (!token_.empty() && token_.back() == '\n') token_.pop_back();
}

ServeProcess::~ServeProcess() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 300; ++i) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) return;
    usleep(10000);
  }
  ::kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
}

std::optional<std::chrono::milliseconds> ServeProcess::terminate(std::chrono::milliseconds limit) {
  auto start = std::chrono::steady_clock::now();
  ::kill(pid_, SIGTERM);
  std::optional<std::chrono::milliseconds> took;
  while (std::chrono::steady_clock::now() - start < limit) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        took = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - start);
      }
      pid_ = -1;
      return took;
    }
    usleep(5000);
  }
  ::kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  return took;
}

std::string read_blob(HostProcess& host, const json& file_ref) {
  std::string blob = file_ref.at("$blob");
  std::string bytes;
  for (int guard = 0; guard < 1000; ++guard) {
    json chunk = host.result_of("blobs.read",
                                {{"blob", blob}, {"offset", bytes.size()}, {"length", 512 * 1024}});
    BOOST_REQUIRE(chunk["size"] == file_ref.at("size"));
    bytes += base64_decode(chunk["data"]);
    if (chunk["eof"] == true) return bytes;
  }
  BOOST_FAIL("blob never reached eof");
  return bytes;
}

json vinted_response(const json& task) {
  std::string step = task["step"];
  int64_t id = task["id"];
  if (step.rfind("upload_photo_", 0) == 0) {
    return {{"id", 1000 + id}, {"url", "https://images.example/" + std::to_string(1000 + id)}};
  }
  if (step == "create_draft") return {{"draft", {{"id", 5000 + id}, {"status", "draft"}}}};
  if (step == "complete_draft") {
    return {
        {"item",
         {{"id", 9000 + id}, {"url", "https://www.vinted.fr/items/" + std::to_string(9000 + id)}}}};
  }
  return json::object();
}

}  // namespace stoflow::testing

namespace stoflow::testing {

int connect_loopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  BOOST_REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  return fd;
}

json browser_in(const json& report, const std::string& name) {
  for (const auto& b : report["browsers"]) {
    if (b["browser"] == name) return b;
  }
  BOOST_FAIL("no " << name << " in the report");
  return nullptr;
}

}  // namespace stoflow::testing

#include "harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
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

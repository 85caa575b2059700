// Figures for scripts/bench: the real stoflow-host driven over pipes, timed
// from outside. Prints a table; asserts nothing (speed is not a unit test).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "test_support.h"

using namespace stoflow::testing;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

long rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

long cpu_ticks(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stol(field);
    if (i == 15) stime = std::stol(field);
  }
  return utime + stime;
}

void row(const std::string& what, double value, const std::string& unit) {
  std::printf("%-58s %12.1f %s\n", what.c_str(), value, unit.c_str());
}

struct Env {
  TempDir dir;
  std::map<std::string, std::string> env{{"STOFLOW_LOG_LEVEL", "warn"}};
  Env() { env["STOFLOW_DB"] = (dir / "stoflow.db").string(); }
};

std::vector<int64_t> import_products(Env& e, int count, size_t photo_bytes, double* seconds) {
  write_file(e.dir / "cat" / "p.png", png_bytes(photo_bytes, 9));
  json products = json::array();
  for (int i = 0; i < count; ++i)
    products.push_back(vinted_product("item " + std::to_string(i), {"p.png"}));
  auto file = write_product_file(e.dir / "cat", products);
  auto start = Clock::now();
  auto r = run_host_cli({"products", "import", file.string(), "--json"}, e.env);
  *seconds = seconds_since(start);
  if (r.exit_code != 0) throw std::runtime_error(r.err);
  return json::parse(r.out).get<std::vector<int64_t>>();
}

json respond(const json& task) {
  std::string step = task["step"];
  if (step.rfind("upload_photo_", 0) == 0) return {{"id", task["id"]}};
  if (step == "create_draft") return {{"draft", {{"id", 1}}}};
  return {{"item", {{"id", 2}, {"url", "https://www.vinted.fr/items/2"}}}};
}

}  // namespace

int main() {
  std::printf("%-58s %12s %s\n", "measure", "value", "unit");

  {  // import and queueing through the CLI
    Env e;
    double import_s = 0;
    auto ids = import_products(e, 200, 300'000, &import_s);
    row("import 200 products with a 300 KB photo (CLI, one file)", import_s * 1000, "ms");
    std::vector<std::string> args = {"publish", "vinted"};
    for (auto id : ids) args.push_back(std::to_string(id));
    auto start = Clock::now();
    auto r = run_host_cli(args, e.env);
    row("publish 200 products in one CLI call", seconds_since(start) * 1000, "ms");
    if (r.exit_code != 0) throw std::runtime_error(r.err);

    // Steps through the real host over pipes: tasks.list + tasks.result, no photo reads.
    HostProcess host(e.env);
    host.result_of("hello");
    int steps = 0;
    start = Clock::now();
    for (;;) {
      json tasks = host.result_of("tasks.list");
      if (tasks.empty()) break;
      host.result_of(
          "tasks.result",
          {{"task_id", tasks[0]["id"]}, {"success", true}, {"result", respond(tasks[0])}});
      ++steps;
    }
    double s = seconds_since(start);
    row("steps completed over stdio (list + result, fsync'd)", steps, "steps");
    row("step round trips per second", steps / s, "steps/s");
    row("mean step round trip", s / steps * 1000, "ms");
    row("host resident memory after 600 steps", static_cast<double>(rss_kib(host.pid())) / 1024.0,
        "MiB");
  }

  {  // photo streaming and idle behaviour
    Env e;
    double import_s = 0;
    auto ids = import_products(e, 1, 20'000'000, &import_s);
    row("import one 20 MB photo (copy, fsync, verify)", import_s * 1000, "ms");
    run_host_cli({"publish", "vinted", std::to_string(ids[0])}, e.env);
    HostProcess host(e.env);
    host.result_of("hello");
    json task = host.result_of("tasks.list")[0];
    auto start = Clock::now();
    std::string bytes = "";
    json file = task["payload"]["photo[file]"];
    for (;;) {
      json chunk = host.result_of(
          "blobs.read",
          {{"blob", file["$blob"]}, {"offset", bytes.size()}, {"length", 512 * 1024}});
      bytes += base64_decode(chunk["data"]);
      if (chunk["eof"] == true) break;
    }
    double s = seconds_since(start);
    row("blobs.read of a 20 MB photo in 512 KiB chunks", s * 1000, "ms");
    row("blob streaming throughput", bytes.size() / s / 1e6, "MB/s");

    long before = cpu_ticks(host.pid());
    std::this_thread::sleep_for(3s);
    long after = cpu_ticks(host.pid());
    row("CPU used by a connected idle host over 3 s (with a lease)",
        (after - before) * 1000.0 / sysconf(_SC_CLK_TCK), "ms");
    row("idle host resident memory", static_cast<double>(rss_kib(host.pid())) / 1024.0, "MiB");
    host.close_stdin();
    start = Clock::now();
    host.wait_exit(10s);
    row("exit after the browser closes the pipe", seconds_since(start) * 1000, "ms");
  }
  return 0;
}

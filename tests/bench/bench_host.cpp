// Figures for scripts/bench: the real stoflow-host driven from outside (over
// pipes, as a browser does, and through its CLI), each beside a floor measured
// in the same run, on the same disk and directory: what the same work costs at
// its least. Prints one table; asserts nothing (speed is not a unit test).
//
// STOFLOW_BENCH_SIZES=small runs every measure on small databases, for
// working on the bench itself. STOFLOW_BENCH_DATA names the directory of the
// databases (default: build/bench/bench-data): the big ones are built there
// once and kept, every run works on copies.
#include <fcntl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "bench_sqlite.h"
#include "seed_db.h"
#include "test_support.h"
#include "util/crypto.h"

using namespace stoflow::testing;
using stoflow::bench::Shape;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// ------------------------------------------------------------------ sizes

struct Sizes {
  std::string name;
  std::vector<int64_t> depths;  // queued operations, one pending step each
  int64_t steps = 0;            // steps timed at each depth (at most the 3 per operation)
  Shape thousand;               // "1k tasks": 100 queued + 300 completed publishes
  Shape million;                // "1M tasks": 100k queued + 300k completed publishes
  int64_t million_steps = 0;    // steps on the big database (memory read after them)
  int cold_starts = 0;
  int64_t listings = 0;
};

Sizes sizes_from_env() {
  const char* choice = std::getenv("STOFLOW_BENCH_SIZES");
  if (choice && std::string(choice) == "small") {
    return {.name = "small",
            .depths = {100, 1'000, 3'000},
            .steps = 300,
            .thousand = {.completed = 300, .queued = 100},
            .million = {.completed = 3'000, .queued = 1'000},
            .million_steps = 500,
            .cold_starts = 5,
            .listings = 2'800};
  }
  return {.name = "full",
          .depths = {100, 10'000, 100'000},
          .steps = 3'000,
          .thousand = {.completed = 300, .queued = 100},
          .million = {.completed = 300'000, .queued = 100'000},
          .million_steps = 10'000,
          .cold_starts = 30,
          .listings = 280'000};
}

std::string count_words(int64_t n) {
  if (n >= 1'000'000 && n % 1'000'000 == 0) return std::to_string(n / 1'000'000) + "M";
  if (n >= 1'000 && n % 1'000 == 0) return std::to_string(n / 1'000) + "k";
  return std::to_string(n);
}

int64_t tasks_in(const Shape& shape) {
  return shape.completed * 3 + shape.queued;
}

// ------------------------------------------------------------------ table

std::string format(const char* pattern, double value) {
  char text[64];
  std::snprintf(text, sizeof text, pattern, value);
  return text;
}
std::string per_second(double v) {
  return format("%.0f /s", v);
}
std::string millis(double v) {
  return format(v < 10 ? "%.2f ms" : "%.0f ms", v);
}
std::string mib(double kib) {
  return format("%.1f MiB", kib / 1024.0);
}
std::string mb_per_second(double v) {
  return format("%.0f MB/s", v);
}

// Rows are kept and printed together at the end, so that the progress lines
// on stderr never cut the table in two.
std::vector<std::string> table;

void row(const std::string& measure, const std::string& host, const std::string& floor = "-",
         double ratio = -1, const std::string& target = "-") {
  char line[512];
  std::snprintf(line, sizeof line, "%-50s %11s %11s %6s  %s", measure.c_str(), host.c_str(),
                floor.c_str(), ratio >= 0 ? format("%.2f", ratio).c_str() : "-", target.c_str());
  table.emplace_back(line);
}

void print_table() {
  std::printf("%-50s %11s %11s %6s  %s\n", "measure", "host", "floor", "ratio", "target");
  for (const auto& line : table) std::printf("%s\n", line.c_str());
}

void progress(const std::string& what) {
  std::fprintf(stderr, "  .. %s\n", what.c_str());
}

// ------------------------------------------------------------------ measures

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

long status_kib(pid_t pid, const char* field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(std::strlen(field)));
  }
  return -1;
}

long rss_kib(pid_t pid) {
  return status_kib(pid, "VmRSS:");
}

// This thread's CPU time: the simulated extension's share of a step.
double thread_cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1000.0 + static_cast<double>(t.tv_nsec) / 1e6;
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

std::map<std::string, std::string> host_env(const fs::path& db) {
  return {{"STOFLOW_DB", db.string()}, {"STOFLOW_LOG_LEVEL", "warn"}};
}

// What Vinted answers to each step (tests/integration/harness.cpp vinted_response).
json vinted_answer(const json& task) {
  std::string step = task["step"];
  int64_t id = task["id"];
  if (step.rfind("upload_photo_", 0) == 0) {
    return {{"id", 1000 + id}, {"url", "https://images.example/" + std::to_string(1000 + id)}};
  }
  if (step == "create_draft") return {{"draft", {{"id", 5000 + id}, {"status", "draft"}}}};
  return {
      {"item",
       {{"id", 9000 + id}, {"url", "https://www.vinted.fr/items/" + std::to_string(9000 + id)}}}};
}

struct StepTimes {
  std::vector<double> latencies_ms;
  double seconds = 0;
  int64_t steps() const { return static_cast<int64_t>(latencies_ms.size()); }
  double per_second() const { return seconds > 0 ? steps() / seconds : 0; }
  double median_ms() const { return median(latencies_ms); }
};

// Who sends the steps' results. kExtension does what extension/src/task-runner.js
// does: tasks.list only when it holds no step, and each result sent with
// lease_next, whose reply hands out the next step in the same commit. kSeed is
// the seed's plugin (and any client older than lease_next): tasks.list then
// tasks.result for every step, two commits.
enum class Client { kExtension, kSeed };

// An extension that answers at once what Vinted would answer. It keeps the
// step it was handed across calls to drive(), as the real one keeps it.
class SimulatedExtension {
 public:
  SimulatedExtension(HostProcess& host, Client client) : host_(host), client_(client) {}

  // Runs up to `wanted` steps; fewer when the queue runs dry.
  int64_t drive(int64_t wanted, StepTimes& times) {
    int64_t done = 0;
    auto start = Clock::now();
    for (; done < wanted; ++done) {
      auto begin = Clock::now();
      if (held_.is_null()) {
        json tasks = host_.result_of("tasks.list");
        if (tasks.empty()) break;
        held_ = tasks[0];
      }
      json report = {{"task_id", held_["id"]},
                     {"success", true},
                     {"http_status", 200},
                     {"result", vinted_answer(held_)},
                     {"attempt", held_["attempt"]}};
      if (client_ == Client::kExtension) report["lease_next"] = true;
      json reply = host_.result_of("tasks.result", report);
      held_ = client_ == Client::kExtension ? reply.value("next_task", json()) : json();
      times.latencies_ms.push_back(
          std::chrono::duration<double, std::milli>(Clock::now() - begin).count());
    }
    times.seconds += seconds_since(start);
    return done;
  }

  // Untimed steps until the host's WAL has reached its working size
  // (bench_sqlite.h, wal_working_bytes), at most `limit`: the floor starts
  // from there too. Returns the steps spent.
  int64_t warm_up(const fs::path& db, int64_t limit) {
    StepTimes untimed;
    int64_t working = stoflow::bench::wal_working_bytes(db);
    int64_t done = 0;
    while (done < limit && stoflow::bench::wal_bytes(db) < working && drive(1, untimed) == 1) {
      ++done;
    }
    return done;
  }

 private:
  HostProcess& host_;
  Client client_;
  json held_;
};

// bench_floor, kept running so that its steps can alternate with the host's.
class Floor {
 public:
  Floor(const fs::path& dir, int64_t rows) {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    std::string bin = STOFLOW_BENCH_FLOOR_BIN, d = dir.string(), n = std::to_string(rows);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      execl(bin.c_str(), bin.c_str(), d.c_str(), n.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    to_ = fdopen(in[1], "w");
    from_ = fdopen(out[0], "r");
    if (read_line() != "ready") throw std::runtime_error("bench_floor did not start");
  }
  ~Floor() {
    std::fclose(to_);
    std::fclose(from_);
    waitpid(pid_, nullptr, 0);
  }
  Floor(const Floor&) = delete;
  Floor& operator=(const Floor&) = delete;

  void run(int64_t steps) {
    std::fprintf(to_, "%lld\n", static_cast<long long>(steps));
    std::fflush(to_);
    seconds_ += std::stod(read_line());
    steps_ += steps;
  }
  double per_second() const { return seconds_ > 0 ? steps_ / seconds_ : 0; }
  pid_t pid() const { return pid_; }

 private:
  std::string read_line() {
    char line[128];
    if (!std::fgets(line, sizeof line, from_)) throw std::runtime_error("bench_floor stopped");
    std::string text(line);
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
  }
  pid_t pid_ = -1;
  FILE* to_ = nullptr;
  FILE* from_ = nullptr;
  double seconds_ = 0;
  int64_t steps_ = 0;
};

// Host and floor in turns, a twentieth of the steps at a time, so that both meet
// the same disk: on a disk shared with other work the rate of fsync drifts by
// half from one minute to the next.
void alternate(SimulatedExtension& extension, Floor& floor, int64_t steps, StepTimes& times) {
  constexpr int kRounds = 20;
  for (int round = 0; round < kRounds; ++round) {
    int64_t share = steps * (round + 1) / kRounds - steps * round / kRounds;
    int64_t done = extension.drive(share, times);
    if (done > 0) floor.run(done);
    if (done < share) break;
  }
}

// exec → hello answered: one new process, which exits before the next.
double cold_start_ms(const fs::path& db) {
  auto start = Clock::now();
  HostProcess host(host_env(db));
  host.result_of("hello");
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  host.close_stdin();
  host.wait_exit(30s);
  return ms;
}

struct Peak {
  double seconds = 0;
  long kib = -1;
  bool exact = false;  // read at the exit stop, not from ru_maxrss
  int exit_code = -1;
};

// Runs a program with its output thrown away and reads its peak resident
// memory (VmHWM) at the moment it exits, stopped there under ptrace. wait4's
// ru_maxrss is no good for a child of this process: exec records the peak of
// the memory it replaces, which here is the bench's own.
Peak peak_memory(const std::vector<std::string>& argv,
                 const std::map<std::string, std::string>& env) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<std::string> args = argv;
  std::vector<char*> argv_c, env_c;
  for (auto& a : args) argv_c.push_back(a.data());
  argv_c.push_back(nullptr);
  for (auto& e : env_strings) env_c.push_back(e.data());
  env_c.push_back(nullptr);

  Peak peak;
  auto start = Clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);  // if refused, ru_maxrss is read instead
    int null = ::open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    execve(argv_c[0], argv_c.data(), env_c.data());
    _exit(127);
  }
  bool traced = false;
  for (;;) {
    int status = 0;
    rusage usage{};
    if (wait4(pid, &status, 0, &usage) != pid) throw std::runtime_error("wait4 failed");
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      peak.seconds = seconds_since(start);
      peak.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      if (!peak.exact) peak.kib = usage.ru_maxrss;
      return peak;
    }
    if (!WIFSTOPPED(status)) continue;
    int sig = WSTOPSIG(status);
    if (!traced && sig == SIGTRAP) {  // stopped after execve
      traced = true;
      ptrace(PTRACE_SETOPTIONS, pid, nullptr, PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL);
      sig = 0;
    } else if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXIT << 8))) {
      peak.kib = status_kib(pid, "VmHWM:");  // its memory is still there
      peak.exact = peak.kib >= 0;
      sig = 0;
    }
    ptrace(PTRACE_CONT, pid, nullptr, reinterpret_cast<void*>(static_cast<intptr_t>(sig)));
  }
}

// The blob as stored, read with read(2) in the host's chunk size and
// base64-encoded with the host's own encoder: the least blobs.read can cost.
// Returns MB/s.
double read_and_encode(const fs::path& file) {
  constexpr size_t kChunk = 512 * 1024;
  std::string buffer(kChunk, '\0');
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open " + file.string());
  size_t total = 0, encoded = 0;
  auto start = Clock::now();
  for (;;) {
    ssize_t n = ::read(fd, buffer.data(), kChunk);
    if (n <= 0) break;
    encoded +=
        stoflow::base64_encode(std::span(reinterpret_cast<const unsigned char*>(buffer.data()),
                                         static_cast<size_t>(n)))
            .size();
    total += static_cast<size_t>(n);
  }
  double s = seconds_since(start);
  ::close(fd);
  if (encoded < total) throw std::runtime_error("base64 came out short");
  return total / s / 1e6;
}

// The host's own base64 encoder and SHA-256 on a photo in memory, best of
// three: what the blobs.read floor spends apart from read(2), and what an
// import spends on each byte of a photo (hashed twice: as it is copied, and
// read back). SHA-256 on each path this CPU has.
void crypto_figures(const std::string& photo) {
  using stoflow::detail::Sha256Path;
  const auto* bytes = reinterpret_cast<const unsigned char*>(photo.data());
  auto best_rate = [&](size_t chunk, auto&& work) {
    double best = 0;
    for (int round = 0; round < 3; ++round) {
      auto start = Clock::now();
      for (size_t at = 0; at < photo.size(); at += chunk) {
        work(bytes + at, std::min(chunk, photo.size() - at));
      }
      best = std::max(best, photo.size() / seconds_since(start) / 1e6);
    }
    return best;
  };
  size_t encoded = 0;
  double encode = best_rate(512 * 1024, [&](const unsigned char* at, size_t n) {
    encoded += stoflow::base64_encode(std::span(at, n)).size();
  });
  if (encoded < photo.size()) throw std::runtime_error("base64 came out short");
  row("base64 encoder alone, in memory, 512 KiB chunks", mb_per_second(encode));
  Sha256Path chosen = stoflow::detail::sha256_path();
  for (auto path : {Sha256Path::kShaNi, Sha256Path::kPortable}) {
    if (!stoflow::detail::sha256_path_available(path)) continue;
    stoflow::detail::set_sha256_path(path);
    std::string digest;
    double rate = best_rate(photo.size(), [&](const unsigned char* at, size_t n) {
      stoflow::Sha256 hash;
      for (size_t done = 0; done < n; done += 256 * 1024) {
        hash.update(at + done, std::min<size_t>(256 * 1024, n - done));
      }
      digest = hash.hex_digest();
    });
    if (!stoflow::is_sha256_hex(digest)) throw std::runtime_error("SHA-256 gave no digest");
    std::string name = path == Sha256Path::kShaNi ? "SHA-NI" : "portable";
    if (path == chosen) name += ", the host's";
    row("SHA-256 alone (" + name + "), in memory", mb_per_second(rate));
  }
  stoflow::detail::set_sha256_path(chosen);
}

// ------------------------------------------------------------------ databases

// One product with one photo, imported by the real binary: the schema and
// the rows every bigger database is copied from.
fs::path base_database(const fs::path& dir) {
  fs::path db = dir / "stoflow.db";
  write_file(dir / "cat" / "p.png", png_bytes(200'000, 7));
  auto file =
      write_product_file(dir / "cat", json::array({vinted_product("Levi's 501", {"p.png"})}));
  auto r = run_host_cli({"products", "import", file.string()}, host_env(db));
  if (r.exit_code != 0) throw std::runtime_error("import failed: " + r.err);
  return db;
}

struct Data {
  fs::path dir;   // cached databases
  fs::path run;   // this run's copies, removed at the end
  fs::path base;  // made by the real binary in this run
  fs::path cached(const Shape& shape) const {
    auto path = stoflow::bench::cache_path(dir, base, shape);
    if (!fs::exists(path)) {
      progress("building the database " + shape.name() + " (once; kept in " + dir.string() + ")");
      stoflow::bench::build_database(base, shape, path);
    }
    return path;
  }
  fs::path copy(const Shape& shape, const std::string& name) const {
    return stoflow::bench::copy_database(cached(shape), run / name);
  }
};

// ------------------------------------------------------------------ sections

struct Rates {
  double host = 0;
  double floor = 0;
};

// `steps` steps sent by `client` to a host on a copy of `shape`, in turns
// with the floor in the same directory.
Rates steps_against_floor(const Data& data, const Shape& shape, int64_t steps, Client client) {
  fs::path db = data.copy(shape, "depth");
  Rates rates;
  {
    Floor floor(db.parent_path(), tasks_in(shape));
    HostProcess host(host_env(db));
    host.result_of("hello");
    SimulatedExtension extension(host, client);
    int64_t available = 3 * shape.queued;
    int64_t warmed = extension.warm_up(db, available / 3);
    StepTimes times;
    alternate(extension, floor, std::min(steps, available - warmed), times);
    rates = {times.per_second(), floor.per_second()};
  }
  fs::remove_all(db.parent_path());
  return rates;
}

void step_figures(const Data& data, const Sizes& sizes) {
  for (int64_t depth : sizes.depths) {
    progress("up to " + std::to_string(sizes.steps) + " steps at " + count_words(depth) +
             " queued operations");
    Rates r = steps_against_floor(data, Shape{.queued = depth}, sizes.steps, Client::kExtension);
    row("steps/s, " + count_words(depth) + " queued operations", per_second(r.host),
        per_second(r.floor), r.host / r.floor, ">= 0.8");
  }
  // The same host with a client that does not ask for the next step with its
  // result: what lease_next saves.
  int64_t depth = sizes.depths.back();
  progress(std::to_string(sizes.steps) + " steps at " + count_words(depth) +
           " queued operations, without lease_next");
  Rates r = steps_against_floor(data, Shape{.queued = depth}, sizes.steps, Client::kSeed);
  row("steps/s, " + count_words(depth) + " queued, list+result (seed's plugin)", per_second(r.host),
      per_second(r.floor), r.host / r.floor);
}

// The big database against the 1k-task one. Every pair of figures is taken
// in turns (cold starts one each, steps in rounds with the floor's), so that
// both meet the disk in the same state.
void million_figures(const Data& data, const Sizes& sizes) {
  std::string big = count_words(tasks_in(sizes.million)) + " tasks";
  std::string small = count_words(tasks_in(sizes.thousand)) + " tasks";
  fs::path small_db = data.copy(sizes.thousand, "thousand");
  fs::path big_db = data.copy(sizes.million, "million");

  // Started cold before any step runs, so both find their queue waiting, as
  // a seller's browser does.
  progress(std::to_string(sizes.cold_starts) + " cold starts each at " + small + " and " + big);
  std::vector<double> small_cold, big_cold;
  for (int i = 0; i < sizes.cold_starts; ++i) {
    small_cold.push_back(cold_start_ms(small_db));
    big_cold.push_back(cold_start_ms(big_db));
  }

  progress("filling the floor's table as deep as " + big);
  StepTimes small_run, big_run;
  long small_rss = 0, rss_hello = 0, rss_steps = 0;
  double floor_rate = 0, host_cpu_ms = 0, floor_cpu_ms = 0, client_cpu_ms = 0;
  {
    Floor floor(big_db.parent_path(), tasks_in(sizes.million));
    progress(std::to_string(sizes.million_steps) + " steps at " + big + ", up to " +
             std::to_string(3 * sizes.thousand.queued) + " at " + small);
    HostProcess small_host(host_env(small_db));
    small_host.result_of("hello");
    small_rss = rss_kib(small_host.pid());
    HostProcess big_host(host_env(big_db));
    big_host.result_of("hello");
    rss_hello = rss_kib(big_host.pid());
    SimulatedExtension small_extension(small_host, Client::kExtension);
    SimulatedExtension big_extension(big_host, Client::kExtension);
    int64_t small_steps = 3 * sizes.thousand.queued;  // all it holds
    small_steps -= small_extension.warm_up(small_db, small_steps / 3);
    big_extension.warm_up(big_db, sizes.million_steps / 3);
    constexpr int kRounds = 20;
    long host_ticks = cpu_ticks(big_host.pid()), floor_ticks = cpu_ticks(floor.pid());
    for (int round = 0; round < kRounds; ++round) {
      small_extension.drive(small_steps / kRounds, small_run);
      int64_t share = sizes.million_steps / kRounds;
      double before = thread_cpu_ms();
      int64_t done = big_extension.drive(share, big_run);
      client_cpu_ms += thread_cpu_ms() - before;
      if (done > 0) floor.run(done);
    }
    // CPU does not wait for the disk: where fsync is cheap, it is what is left.
    double ms_per_tick = 1000.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
    host_cpu_ms = (cpu_ticks(big_host.pid()) - host_ticks) * ms_per_tick / big_run.steps();
    floor_cpu_ms = (cpu_ticks(floor.pid()) - floor_ticks) * ms_per_tick / big_run.steps();
    client_cpu_ms /= static_cast<double>(big_run.steps());
    rss_steps = rss_kib(big_host.pid());
    floor_rate = floor.per_second();
  }
  fs::remove_all(small_db.parent_path());
  fs::remove_all(big_db.parent_path());

  row("steps/s, " + big + " (" + count_words(sizes.million.queued) + " queued)",
      per_second(big_run.per_second()), per_second(floor_rate), big_run.per_second() / floor_rate,
      ">= 0.8");
  row("CPU per step, " + big, millis(host_cpu_ms), millis(floor_cpu_ms),
      host_cpu_ms / floor_cpu_ms);
  // The other side of each round trip, which the floor does not have: what is
  // left of a step's time once host and client CPU are taken out is the commit
  // and the pipes' wake-ups.
  row("CPU per step of the simulated extension (JSON, pipes)", millis(client_cpu_ms));
  row("step round trip, median, " + small, millis(small_run.median_ms()));
  row("step round trip, median, " + big, millis(big_run.median_ms()), millis(small_run.median_ms()),
      big_run.median_ms() / small_run.median_ms(), "<= 1.2");
  row("cold start exec -> hello, median of " + std::to_string(sizes.cold_starts) + ", " + big,
      millis(median(big_cold)), millis(median(small_cold)), median(big_cold) / median(small_cold));
  row("host RSS after hello, " + big, mib(rss_hello), mib(small_rss),
      static_cast<double>(rss_hello) / small_rss);
  row("host RSS after " + count_words(big_run.steps()) + " steps, " + big, mib(rss_steps),
      mib(rss_hello), static_cast<double>(rss_steps) / rss_hello);
}

void listings_figures(const Data& data, const Sizes& sizes) {
  Shape shape{0, 0, sizes.listings};
  fs::path db = data.copy(shape, "listings");
  fs::path small = data.copy(Shape{0, sizes.depths.front(), 0}, "listings-floor");
  progress("listings --json over " + count_words(sizes.listings) + " listing rows");
  std::vector<std::string> argv = {host_binary().string(), "listings", "--json"};
  Peak peak = peak_memory(argv, host_env(db));
  Peak floor = peak_memory(argv, host_env(small));
  if (peak.exit_code != 0 || floor.exit_code != 0) throw std::runtime_error("listings failed");
  // ru_maxrss, when ptrace is refused, can only overstate (see peak_memory).
  std::string how = peak.exact && floor.exact ? "" : " (ru_maxrss)";
  row("listings --json peak RSS, " + count_words(sizes.listings) + " rows" + how, mib(peak.kib),
      mib(floor.kib), static_cast<double>(peak.kib) / floor.kib, "<= 32 MiB");
  row("listings --json time, " + count_words(sizes.listings) + " rows",
      millis(peak.seconds * 1000));
  fs::remove_all(db.parent_path());
  fs::remove_all(small.parent_path());
}

std::vector<int64_t> import_products(const fs::path& dir, int count, size_t photo_bytes,
                                     double* seconds) {
  write_file(dir / "cat" / "p.png", png_bytes(photo_bytes, 9));
  json products = json::array();
  for (int i = 0; i < count; ++i)
    products.push_back(vinted_product("item " + std::to_string(i), {"p.png"}));
  auto file = write_product_file(dir / "cat", products);
  auto start = Clock::now();
  auto r =
      run_host_cli({"products", "import", file.string(), "--json"}, host_env(dir / "stoflow.db"));
  *seconds = seconds_since(start);
  if (r.exit_code != 0) throw std::runtime_error(r.err);
  return json::parse(r.out)["ids"].get<std::vector<int64_t>>();
}

void cli_figures(const Data& data) {
  fs::path dir = data.run / "cli";
  double import_s = 0;
  auto ids = import_products(dir, 200, 300'000, &import_s);
  row("import 200 products, a 300 KB photo each (CLI)", millis(import_s * 1000));
  std::vector<std::string> args = {"publish", "vinted"};
  for (auto id : ids) args.push_back(std::to_string(id));
  auto start = Clock::now();
  auto r = run_host_cli(args, host_env(dir / "stoflow.db"));
  if (r.exit_code != 0) throw std::runtime_error(r.err);
  row("publish 200 products (CLI)", millis(seconds_since(start) * 1000));
  fs::remove_all(dir);
}

void photo_and_idle_figures(const Data& data) {
  fs::path dir = data.run / "photo";
  double import_s = 0;
  auto ids = import_products(dir, 1, 20'000'000, &import_s);
  row("import one 20 MB photo (copy, fsync, verify)", millis(import_s * 1000));
  fs::path db = dir / "stoflow.db";
  run_host_cli({"publish", "vinted", std::to_string(ids[0])}, host_env(db));
  HostProcess host(host_env(db));
  host.result_of("hello");
  json task = host.result_of("tasks.list")[0];
  json file = task["payload"]["photo[file]"];
  std::string sha = file["$blob"];
  std::vector<std::string> chunks;
  size_t offset = 0;
  auto start = Clock::now();
  for (;;) {
    json chunk =
        host.result_of("blobs.read", {{"blob", sha}, {"offset", offset}, {"length", 512 * 1024}});
    offset += chunk["length"].get<size_t>();
    chunks.push_back(chunk["data"]);
    if (chunk["eof"] == true) break;
  }
  double s = seconds_since(start);
  size_t decoded = 0;  // checked outside the timing: the host's figure is the host's
  for (const auto& c : chunks) decoded += base64_decode(c).size();
  if (decoded != offset || decoded != file["size"].get<size_t>()) {
    throw std::runtime_error("blobs.read returned " + std::to_string(decoded) + " bytes");
  }
  double host_rate = decoded / s / 1e6;
  fs::path stored = fs::path(db.string() + "-blobs") / sha.substr(0, 2) / sha;
  double floor_rate = read_and_encode(stored);
  row("blobs.read of a 20 MB photo, 512 KiB chunks", mb_per_second(host_rate),
      mb_per_second(floor_rate), host_rate / floor_rate);
  crypto_figures(read_file(stored));

  long before = cpu_ticks(host.pid());
  std::this_thread::sleep_for(3s);
  long after = cpu_ticks(host.pid());
  row("CPU of a connected idle host over 3 s (a lease held)",
      format("%.0f ms", (after - before) * 1000.0 / sysconf(_SC_CLK_TCK)));
  row("idle host RSS", mib(rss_kib(host.pid())));
  host.close_stdin();
  start = Clock::now();
  host.wait_exit(10s);
  row("exit after the browser closes the pipe", millis(seconds_since(start) * 1000));
  fs::remove_all(dir);
}

}  // namespace

int main() {
  Sizes sizes = sizes_from_env();
  Data data;
  const char* dir = std::getenv("STOFLOW_BENCH_DATA");
  data.dir = dir && *dir ? fs::path(dir) : fs::path(STOFLOW_BENCH_DATA_DIR);
  data.run = data.dir / "run";
  int status = 0;
  try {
    fs::remove_all(data.run);
    fs::create_directories(data.run);
    data.base = base_database(data.run / "base");
    stoflow::bench::remove_stale_databases(data.dir, data.base);
    step_figures(data, sizes);
    million_figures(data, sizes);
    listings_figures(data, sizes);
    cli_figures(data);
    photo_and_idle_figures(data);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench stopped: %s\n", e.what());
    status = 1;
  }
  std::printf("sizes: %s; databases in %s\n", sizes.name.c_str(), data.dir.c_str());
  print_table();
  std::printf("%s", R"(
floors, measured in this run, in the host's directory:
  steps/s, CPU    bench_floor: per step one transaction that updates a row and inserts a row,
                  then commits (WAL, synchronous=FULL), in a table as deep as the host's
  big database    step round trip, cold start, RSS after hello: the same on the 1k-task database,
                  taken in turns with the big one; RSS after the steps: the same host after hello
  listings        the same command on the database of 100 queued operations (100 listings)
  blobs.read      read(2) of the stored file and base64 with the host's encoder, in the bench
)");
  std::error_code ec;
  fs::remove_all(data.run, ec);
  return status;
}

// The floor under the host's step throughput, for scripts/bench: the least a
// durable step can cost on this disk. One step is one transaction that updates
// one row and inserts one row, then commits, with the host's journal settings
// (WAL, synchronous=FULL, SQLite's default checkpoint every 1000 pages) on a
// table as deep as the host's database. Whatever the host does beyond that
// (a second commit, JSON, pipes) shows as the ratio host / floor.
//
//   bench_floor DIR ROWS
//
// Creates DIR/floor.db afresh, fills ROWS steps in one unsynced transaction,
// runs untimed steps until its WAL has reached its working size, and prints
// "ready". Then, for each line N it reads, runs the next N steps
// and prints the seconds they took. The bench alternates batches of host
// steps and floor steps, so both meet the same disk: on a disk shared with
// other work, two runs a minute apart can differ by half.
// Asserts nothing; exits 1 only when it cannot run.
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "bench_sqlite.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using stoflow::bench::Db;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: bench_floor DIR ROWS\n");
    return 2;
  }
  try {
    fs::path dir = argv[1];
    int64_t rows = std::stoll(argv[2]);
    fs::path path = dir / "floor.db";
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(path.string() + suffix);

    Db db(path);
    db.exec("PRAGMA journal_mode=WAL");
    db.exec(
        "CREATE TABLE steps (id INTEGER PRIMARY KEY, status TEXT NOT NULL, payload TEXT NOT NULL,"
        " result TEXT, completed_at TEXT);"
        "CREATE TABLE attempts (id INTEGER PRIMARY KEY, step_id INTEGER NOT NULL,"
        " outcome TEXT NOT NULL, response TEXT NOT NULL, finished_at TEXT NOT NULL)");
    // Rows about the size of a host step (a payload of a few hundred bytes), so
    // the B-tree is as deep as the host's. Filling them is not what is timed.
    db.exec("PRAGMA synchronous=OFF");
    db.exec("BEGIN");
    {
      auto fill = db.prepare("INSERT INTO steps (status, payload) VALUES ('pending', ?)");
      const std::string payload(400, 'p');
      for (int64_t i = 0; i < rows; ++i) fill.bind(1, payload).run();
    }
    db.exec("COMMIT");
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");

    auto update = db.prepare(
        "UPDATE steps SET status = 'success', result = ?, completed_at = ? WHERE id = ?");
    auto insert = db.prepare(
        "INSERT INTO attempts (step_id, outcome, response, finished_at) VALUES (?, 'success', ?, "
        "?)");
    const std::string result(120, 'r');    // about a Vinted answer
    const std::string response(160, 'a');  // about the host's reply
    const std::string now = "2026-11-29T10:40:01.532Z";
    // The head of the line, as the host's FIFO; with more steps than rows
    // (the shallowest depth) rows are updated again, still one row per step.
    int64_t next = 1;
    auto step = [&] {
      db.exec("BEGIN IMMEDIATE");
      update.bind(1, result)
          .bind(2, now)
          .bind(3, 1 + (next - 1) % std::max<int64_t>(rows, 1))
          .run();
      insert.bind(1, next).bind(2, response).bind(3, now).run();
      db.exec("COMMIT");
      ++next;
    };
    // Steps until the WAL has reached its working size (see wal_working_bytes),
    // unsynced since they are not timed.
    int64_t working = stoflow::bench::wal_working_bytes(path);
    while (stoflow::bench::wal_bytes(path) < working) step();
    db.exec("PRAGMA synchronous=FULL");
    std::printf("ready\n");
    std::fflush(stdout);
    long long batch = 0;
    while (std::scanf("%lld", &batch) == 1) {
      auto start = Clock::now();
      for (long long i = 0; i < batch; ++i) step();
      std::printf("%.6f\n", std::chrono::duration<double>(Clock::now() - start).count());
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_floor: %s\n", e.what());
    return 1;
  }
  return 0;
}

#include "fuzz_support.h"

#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <vector>

#include "util/log.h"

namespace stoflow::fuzz {

namespace fs = std::filesystem;

void fail(std::string_view what, std::string_view detail) {
  std::fprintf(stderr, "\n*** invariant broken: %.*s\n", static_cast<int>(what.size()),
               what.data());
  if (!detail.empty()) {
    // Enough to recognise the reply; the input itself is what libFuzzer saves.
    size_t shown = std::min<size_t>(detail.size(), 2000);
    std::fprintf(stderr, "*** %.*s%s\n", static_cast<int>(shown), detail.data(),
                 shown < detail.size() ? " [...]" : "");
  }
  std::fflush(stderr);
  __builtin_trap();
}

namespace {
std::vector<fs::path>& fixture_dirs() {
  static std::vector<fs::path> dirs;
  return dirs;
}

void remove_fixture_dirs() {
  for (const auto& dir : fixture_dirs()) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
}
}  // namespace

fs::path make_fixture_dir(const std::string& name) {
  std::string pattern = (fs::temp_directory_path() / ("stoflow-fuzz-" + name + "-XXXXXX")).string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed for " + pattern);
  if (fixture_dirs().empty()) std::atexit(remove_fixture_dirs);
  fixture_dirs().emplace_back(pattern);
  return pattern;
}

void quiet_logs() {
  log::Options options;
  options.level = log::Level::kError;
  log::configure(options);
}

void bound_photo_downloads() {
  // Photo downloads never use a proxy (the public-address check must see the
  // real peer) and private addresses are refused before any connection, so a
  // URL in an input either fails at once or meets the network: these bounds
  // keep such an input from stalling the run.
  setenv("STOFLOW_FETCH_CONNECT_TIMEOUT_MS", "200", 1);
  setenv("STOFLOW_FETCH_TIMEOUT_MS", "500", 1);
}

void write_bytes(const fs::path& path, std::string_view bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

namespace {
void copy_database(sqlite3* from, sqlite3* to) {
  sqlite3_backup* backup = sqlite3_backup_init(to, "main", from, "main");
  if (!backup) fail("sqlite3_backup_init failed", sqlite3_errmsg(to));
  int rc = SQLITE_OK;
  // Another thread of the target (the HTTP server's maintenance) may hold the
  // write lock for a moment.
  for (int tries = 0; tries < 5000; ++tries) {
    rc = sqlite3_backup_step(backup, -1);
    if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) fail("restoring the fixture database failed", sqlite3_errstr(rc));
}
}  // namespace

DbSnapshot::DbSnapshot(sqlite3* live) : live_(live) {
  if (sqlite3_open(":memory:", &copy_) != SQLITE_OK) throw std::runtime_error("sqlite3_open");
  copy_database(live_, copy_);
  changes_at_snapshot_ = sqlite3_total_changes64(live_);
  version_at_snapshot_ = data_version();
}

DbSnapshot::~DbSnapshot() {
  sqlite3_close(copy_);
}

int64_t DbSnapshot::data_version() const {
  sqlite3_stmt* stmt = nullptr;
  int64_t version = -1;
  if (sqlite3_prepare_v2(live_, "PRAGMA data_version", -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    version = sqlite3_column_int64(stmt, 0);
  }
  sqlite3_finalize(stmt);
  return version;
}

void DbSnapshot::restore_if_changed() {
  int64_t version = data_version();
  if (sqlite3_total_changes64(live_) == changes_at_snapshot_ && version == version_at_snapshot_) {
    return;
  }
  copy_database(copy_, live_);
  changes_at_snapshot_ = sqlite3_total_changes64(live_);
  version_at_snapshot_ = data_version();
}

}  // namespace stoflow::fuzz

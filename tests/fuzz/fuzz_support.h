#pragma once
// What the libFuzzer targets share: a private directory for the fixture, a
// snapshot of the fixture's database that each iteration starts from, real
// photo bytes, and the one way a target reports a broken invariant.
#include <sqlite3.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace stoflow::fuzz {

// Prints what broke and traps: libFuzzer saves the input as a crash.
[[noreturn]] void fail(std::string_view what, std::string_view detail = {});

// A fresh directory under $TMPDIR (scripts/fuzz points it at /dev/shm: the
// database syncs on every commit), removed when the process exits normally.
std::filesystem::path make_fixture_dir(const std::string& name);

// Logs at error level only: warnings are the normal answer to bad input and
// would bury libFuzzer's own output. Errors still show, next to the crash.
void quiet_logs();

// Photo URLs are part of the import format; a download that meets the
// network would make a target slow. Bounds each one to 200 ms to connect and
// 500 ms in all.
void bound_photo_downloads();

void write_bytes(const std::filesystem::path& path, std::string_view bytes);

// The fixture database as it was after set-up, copied back (SQLite's backup
// API) after any iteration that changed it. Every input then runs against the
// same state: a crash reproduces from its input alone, and the database cannot
// grow over millions of iterations. `live` is the connection the target
// writes through, or a connection of the snapshot's own when the writes come
// from other threads (their commits show in PRAGMA data_version).
class DbSnapshot {
 public:
  explicit DbSnapshot(sqlite3* live);
  ~DbSnapshot();
  DbSnapshot(const DbSnapshot&) = delete;
  DbSnapshot& operator=(const DbSnapshot&) = delete;
  void restore_if_changed();

 private:
  int64_t data_version() const;
  sqlite3* live_;
  sqlite3* copy_ = nullptr;
  int64_t changes_at_snapshot_ = 0;
  int64_t version_at_snapshot_ = 0;
};

}  // namespace stoflow::fuzz

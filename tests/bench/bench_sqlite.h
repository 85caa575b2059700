#pragma once
// The few SQLite calls the benchmark's own programs make (filling databases,
// the floor), kept apart from the host's store so that the bench measures the
// host from outside and shares none of its code.
#include <sqlite3.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

namespace stoflow::bench {

// The size of a WAL that has reached SQLite's checkpoint threshold (1000
// pages) once. From then on each commit overwrites frames in place, while a
// WAL still growing makes every fsync commit the file system's journal too (the
// file's size changed), which on ext4 costs as much again. A connection that
// has been writing for a while is in the first state: the host during a
// session, so the bench times the host and the floor from there.
inline int64_t wal_working_bytes(const std::filesystem::path& db) {
  // The page size is the big-endian 16-bit value at offset 16 of the header (1 means 65536).
  std::FILE* file = std::fopen(db.c_str(), "rb");
  unsigned char header[18] = {};
  size_t got = file ? std::fread(header, 1, sizeof header, file) : 0;
  if (file) std::fclose(file);
  if (got != sizeof header) throw std::runtime_error("cannot read the header of " + db.string());
  int64_t page = (header[16] << 8) | header[17];
  if (page == 1) page = 65536;
  return 32 + 1000 * (page + 24);  // WAL header, then frames of a 24-byte header and a page
}

inline int64_t wal_bytes(const std::filesystem::path& db) {
  std::error_code ec;
  auto size = std::filesystem::file_size(db.string() + "-wal", ec);
  return ec ? 0 : static_cast<int64_t>(size);
}

class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string(sql) + ": " + sqlite3_errmsg(db));
    }
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int index, const std::string& text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int index, const char* text) { return bind(index, std::string(text)); }
  Stmt& bind(int index, int64_t value) {
    sqlite3_bind_int64(stmt_, index, value);
    return *this;
  }
  Stmt& bind(int index, int value) { return bind(index, static_cast<int64_t>(value)); }
  Stmt& bind(int index, std::nullopt_t) {
    sqlite3_bind_null(stmt_, index);
    return *this;
  }
  // Steps once; true while a row is there.
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) {
      throw std::runtime_error(std::string(sqlite3_sql(stmt_)) + ": " + sqlite3_errmsg(db_));
    }
    return false;
  }
  // Runs a statement that returns no row, ready to be bound again.
  void run() {
    step();
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  int64_t int64(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::string text(int column) const {
    const unsigned char* t = sqlite3_column_text(stmt_, column);
    return t ? reinterpret_cast<const char*>(t) : "";
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

class Db {
 public:
  explicit Db(const std::filesystem::path& path) {
    if (sqlite3_open(path.c_str(), &handle_) != SQLITE_OK) {
      std::string message = handle_ ? sqlite3_errmsg(handle_) : "out of memory";
      sqlite3_close(handle_);
      throw std::runtime_error("cannot open " + path.string() + ": " + message);
    }
  }
  ~Db() { sqlite3_close_v2(handle_); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  void exec(const std::string& sql) {
    char* error = nullptr;
    if (sqlite3_exec(handle_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      std::string message = error ? error : "unknown error";
      sqlite3_free(error);
      throw std::runtime_error(sql + ": " + message);
    }
  }
  Stmt prepare(const char* sql) { return Stmt(handle_, sql); }
  int64_t last_insert_id() const { return sqlite3_last_insert_rowid(handle_); }
  sqlite3* handle() const { return handle_; }

 private:
  sqlite3* handle_ = nullptr;
};

}  // namespace stoflow::bench

#pragma once
// Wakes the host when another process (the CLI, the HTTP server, a second
// browser) commits to the shared database, without polling: on Linux an
// inotify watch on the database's directory reports the touch of the commit
// signal file that every connection makes after each commit (see
// store::commit_signal_path).
#include <filesystem>
#include <string>

namespace stoflow::messaging {

class ChangeWatcher {
 public:
  explicit ChangeWatcher(const std::filesystem::path& db_path);
  ~ChangeWatcher();
  ChangeWatcher(const ChangeWatcher&) = delete;
  ChangeWatcher& operator=(const ChangeWatcher&) = delete;

  // A descriptor to poll for readability, or -1 where the platform has none
  // (the host then falls back to a slow timer).
  int fd() const { return fd_; }
  // Drains pending events; true when one concerned the database.
  bool drain();

 private:
  int fd_ = -1;
  std::string signal_name_;
};

}  // namespace stoflow::messaging

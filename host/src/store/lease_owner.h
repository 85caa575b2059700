#pragma once
// Who holds a lease, and whether that holder still runs. Each host process
// holds an exclusive flock on a file named after its owner id; the kernel drops
// the lock the moment the process dies (even on SIGKILL), so any other host can
// tell a dead holder from a live one at once instead of waiting for expiry.
#include <filesystem>
#include <string>

namespace stoflow::store {

class LeaseOwner {
 public:
  // Creates a fresh owner id and locks its file under `dir`.
  explicit LeaseOwner(std::filesystem::path dir);
  ~LeaseOwner();
  LeaseOwner(const LeaseOwner&) = delete;
  LeaseOwner& operator=(const LeaseOwner&) = delete;

  const std::string& id() const { return id_; }

  // True while the process holding `owner` runs. Cleans up the file of a dead one.
  static bool is_alive(const std::filesystem::path& dir, const std::string& owner);

  // Removes the file of every owner that no process holds any more, leased or
  // not: a host killed with SIGKILL cannot remove its own. Returns how many.
  static int remove_dead(const std::filesystem::path& dir);

 private:
  std::filesystem::path dir_;
  std::string id_;
  int fd_ = -1;
};

// Where the lock files of a database live: beside it, like its -wal file.
std::filesystem::path owners_dir_for(const std::filesystem::path& db_path);

}  // namespace stoflow::store

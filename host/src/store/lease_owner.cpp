#include "store/lease_owner.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <stdexcept>

#include "util/crypto.h"
#include "util/paths.h"

namespace stoflow::store {

namespace fs = std::filesystem;

namespace {

// Owner ids come from the database; only names we could have made are
// turned into paths.
bool is_owner_id(const std::string& owner) {
  if (owner.empty() || owner.size() > 64) return false;
  for (char c : owner) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return true;
}

fs::path lock_path(const fs::path& dir, const std::string& owner) {
  return dir / (owner + ".lock");
}

}  // namespace

fs::path owners_dir_for(const fs::path& db_path) {
  return db_path.string() + "-owners";
}

LeaseOwner::LeaseOwner(fs::path dir) : dir_(std::move(dir)) {
  ensure_private_dir(dir_);
  id_ = "p" + std::to_string(::getpid()) + "-" + random_hex(6);
  fd_ = ::open(lock_path(dir_, id_).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0 || ::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    throw std::runtime_error("cannot lock " + lock_path(dir_, id_).string());
  }
}

LeaseOwner::~LeaseOwner() {
  std::error_code ec;
  fs::remove(lock_path(dir_, id_), ec);
  if (fd_ >= 0) ::close(fd_);
}

bool LeaseOwner::is_alive(const fs::path& dir, const std::string& owner) {
  // Not an id a host process made (a row written by another tool): liveness
  // is left to lease expiry.
  if (!is_owner_id(owner) || owner[0] != 'p') return true;
  fs::path path = lock_path(dir, owner);
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  bool locked_by_someone = ::flock(fd, LOCK_EX | LOCK_NB) != 0;
  if (!locked_by_someone) {
    std::error_code ec;
    fs::remove(path, ec);
  }
  ::close(fd);
  return locked_by_someone;
}

}  // namespace stoflow::store

#include "store/lease_owner.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "platform/files.h"
#include "util/crypto.h"
#include "util/log.h"
#include "util/paths.h"

namespace stoflow::store {

namespace fs = std::filesystem;

// How the lock files stay correct with any number of processes creating,
// testing and removing them at once (each a host starting, a host recovering
// dead owners, a CLI command):
//
// - A file is only ever unlinked by a process holding its flock, and only
//   after checking that the name still leads to the very file it locked.
//   While a live owner holds the lock nobody else can get it, so nobody can
//   remove a live owner's file.
// - A new owner cannot create and lock its file in one step, so between open()
//   and flock() a sweeping process may find the file unlocked, take the lock
//   and unlink it. The new owner therefore checks, once it holds its lock, that
//   its name still leads to its file; if not, or if the sweeper still held the
//   lock, it starts over under a fresh name. It is "alive" for the others only
//   from that check on, and before it no lease can name it.
// - Names are never reused (pid + 48 random bits, created with O_EXCL), so a
//   sweeper that opened an old file can never unlink a newer one of the same
//   name; the name check above covers the case anyway.

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

// Ids a host process makes (LeaseOwner); other writers' ids are left to lease expiry.
bool is_host_owner_id(const std::string& owner) {
  return is_owner_id(owner) && owner[0] == 'p';
}

constexpr const char* kSuffix = ".lock";

fs::path lock_path(const fs::path& dir, const std::string& owner) {
  return dir / (owner + kSuffix);
}

using platform::Named;
using platform::what_is_named;

enum class Holder { kAlive, kGone };

// Tells whether a process holds the lock of `path`, and removes the file when
// none does (see the protocol above).
Holder test_and_reap(const fs::path& path) {
  int fd = platform::open_file(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return errno == ENOENT ? Holder::kGone : Holder::kAlive;
  Holder holder = Holder::kAlive;
  if (platform::try_lock(fd)) {
    // Nobody holds it: its owner is dead (the kernel drops a dead process's
    // locks), or has not locked it yet and will start over once it sees it gone.
    switch (what_is_named(path, fd)) {
      case Named::kThisFile: {
        std::error_code ec;
        fs::remove(path, ec);  // no error when already gone
        if (!ec) holder = Holder::kGone;
        break;
      }
      case Named::kNothing:
        holder = Holder::kGone;  // removed meanwhile by another sweeper
        break;
      case Named::kOtherFile:
        break;  // not the file we locked: leave it to whoever holds it
    }
  }
  ::close(fd);  // drops our lock too
  return holder;
}

}  // namespace

fs::path owners_dir_for(const fs::path& db_path) {
  return with_suffix(db_path, "-owners");
}

LeaseOwner::LeaseOwner(fs::path dir) : dir_(std::move(dir)) {
  ensure_private_dir(dir_);
  // A handful of tries is plenty: a sweep catches a file only in the few
  // instructions between its open() and flock().
  for (int attempt = 0; attempt < 32; ++attempt) {
    id_ = "p" + std::to_string(platform::process_id()) + "-" + random_hex(6);
    fs::path path = lock_path(dir_, id_);
    int fd = platform::open_file(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 && errno == EEXIST) continue;
    if (fd < 0) {
      throw std::runtime_error("cannot create " + path.string() + ": " + std::strerror(errno));
    }
    if (platform::try_lock(fd) && what_is_named(path, fd) == Named::kThisFile) {
      fd_ = fd;
      return;
    }
    // A sweeper got to it first and removes it (or has): nothing of ours is left to clean.
    ::close(fd);
  }
  throw std::runtime_error("cannot create and lock a lease-owner file in " + dir_.string());
}

LeaseOwner::~LeaseOwner() {
  // Unlinked while still locked, so no sweeper can be caught between the two.
  std::error_code ec;
  fs::remove(lock_path(dir_, id_), ec);
  if (fd_ >= 0) ::close(fd_);
}

bool LeaseOwner::is_alive(const fs::path& dir, const std::string& owner) {
  // Not an id a host process made (a row written by another tool): liveness
  // is left to lease expiry.
  if (!is_host_owner_id(owner)) return true;
  return test_and_reap(lock_path(dir, owner)) == Holder::kAlive;
}

int LeaseOwner::remove_dead(const fs::path& dir) {
  int removed = 0;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    std::string suffix = kSuffix;
    if (name.size() <= suffix.size() || !name.ends_with(suffix)) continue;
    // Only files of our own making: anything else in the directory is left alone.
    if (!is_host_owner_id(name.substr(0, name.size() - suffix.size()))) continue;
    if (test_and_reap(it->path()) == Holder::kGone) ++removed;
  }
  if (removed > 0) {
    log::info("removed " + std::to_string(removed) + " lock file(s) of dead host processes from " +
              dir.string());
  }
  return removed;
}

}  // namespace stoflow::store

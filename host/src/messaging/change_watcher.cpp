#include "messaging/change_watcher.h"

#include <unistd.h>

#include "store/database.h"
#include "util/log.h"

#if defined(__linux__)
#include <sys/inotify.h>
#endif

namespace stoflow::messaging {

ChangeWatcher::ChangeWatcher(const std::filesystem::path& db_path)
    : signal_name_(store::commit_signal_path(db_path).filename().string()) {
#if defined(__linux__)
  fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) return;
  auto dir = db_path.parent_path().empty() ? std::filesystem::path(".") : db_path.parent_path();
  if (inotify_add_watch(fd_, dir.c_str(), IN_ATTRIB | IN_CREATE) < 0) {
    log::warn("cannot watch " + dir.string() + "; falling back to a timer");
    ::close(fd_);
    fd_ = -1;
  }
#endif
}

ChangeWatcher::~ChangeWatcher() {
  if (fd_ >= 0) ::close(fd_);
}

bool ChangeWatcher::drain() {
  bool relevant = false;
#if defined(__linux__)
  alignas(inotify_event) char buffer[8192];
  for (;;) {
    ssize_t n = ::read(fd_, buffer, sizeof buffer);
    if (n <= 0) break;
    for (char* p = buffer; p < buffer + n;) {
      auto* event = reinterpret_cast<inotify_event*>(p);
      if (event->len > 0 && signal_name_ == event->name) relevant = true;
      p += sizeof(inotify_event) + event->len;
    }
  }
#endif
  return relevant;
}

}  // namespace stoflow::messaging

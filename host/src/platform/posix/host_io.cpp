// The POSIX side of platform/host_io.h (Linux; macOS without the watch).
#include "platform/host_io.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "util/log.h"

#if defined(__linux__)
#include <sys/inotify.h>
#endif

namespace stoflow::platform {

namespace {

int g_signal_pipe[2] = {-1, -1};
volatile sig_atomic_t g_stop_requested = 0;

void on_signal(int) {
  int saved = errno;
  g_stop_requested = 1;
  char byte = 1;
  [[maybe_unused]] auto ignored = ::write(g_signal_pipe[1], &byte, 1);
  errno = saved;
}

void install_signal_handlers() {
  if (g_signal_pipe[0] < 0 && ::pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    throw std::runtime_error("cannot create the signal pipe");
  }
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGHUP, &action, nullptr);
  // A browser that goes away closes the pipe: write() then reports EPIPE.
  signal(SIGPIPE, SIG_IGN);
}

}  // namespace

std::vector<std::string> arguments(int argc, char** argv) {
  return std::vector<std::string>(argv + (argc > 0 ? 1 : 0), argv + argc);
}

void binary_stdio() {}

int take_over_stdout() {
  int private_out = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
  if (private_out < 0) throw std::runtime_error("cannot duplicate stdout");
  ::dup2(STDERR_FILENO, STDOUT_FILENO);
  return private_out;
}

bool write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    // A browser that stopped reading must not keep us from honouring SIGTERM.
    if (n < 0 && errno == EINTR && !g_stop_requested) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool write_all(int fd, std::string_view head, std::string_view body) {
  iovec parts[2] = {{const_cast<char*>(head.data()), head.size()},
                    {const_cast<char*>(body.data()), body.size()}};
  iovec* part = parts;
  int count = 2;
  while (count > 0) {
    ssize_t n = ::writev(fd, part, count);
    if (n < 0 && errno == EINTR && !g_stop_requested) continue;
    if (n <= 0) return false;
    auto done = static_cast<size_t>(n);
    while (count > 0 && done >= part->iov_len) {
      done -= part->iov_len;
      ++part;
      --count;
    }
    if (count > 0) {
      part->iov_base = static_cast<char*>(part->iov_base) + done;
      part->iov_len -= done;
    }
  }
  return true;
}

void grow_output_pipe(int fd) {
#ifdef F_SETPIPE_SZ
  constexpr int kPipeBytes = 256 * 1024;
  // A pipe the kernel will not grow (the user's pipe budget spent), or an
  // output that is no pipe, is left as it is.
  if (::fcntl(fd, F_GETPIPE_SZ) < kPipeBytes) (void)::fcntl(fd, F_SETPIPE_SZ, kPipeBytes);
#else
  (void)fd;
#endif
}

struct HostEvents::State {
  int in_fd = 0;
  int watch_fd = -1;
  std::string signal_name;
};

HostEvents::HostEvents(int in_fd, const std::filesystem::path& signal_file)
    : state_(std::make_unique<State>()) {
  install_signal_handlers();
  state_->in_fd = in_fd;
  state_->signal_name = signal_file.filename().string();
#if defined(__linux__)
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return;
  auto dir =
      signal_file.parent_path().empty() ? std::filesystem::path(".") : signal_file.parent_path();
  if (inotify_add_watch(fd, dir.c_str(), IN_ATTRIB | IN_CREATE) < 0) {
    log::warn("cannot watch " + dir.string() + "; falling back to a timer");
    ::close(fd);
    return;
  }
  state_->watch_fd = fd;
#endif
}

HostEvents::~HostEvents() {
  if (state_->watch_fd >= 0) ::close(state_->watch_fd);
}

bool HostEvents::watching() const {
  return state_->watch_fd >= 0;
}

bool HostEvents::stop_requested() {
  return g_stop_requested != 0;
}

namespace {

// Drains pending events; true when one concerned the signal file.
bool drain_watch(int fd, const std::string& name) {
  bool relevant = false;
#if defined(__linux__)
  alignas(inotify_event) char buffer[8192];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) break;
    for (char* p = buffer; p < buffer + n;) {
      auto* event = reinterpret_cast<inotify_event*>(p);
      if (event->len > 0 && name == event->name) relevant = true;
      p += sizeof(inotify_event) + event->len;
    }
  }
#else
  (void)fd;
  (void)name;
#endif
  return relevant;
}

}  // namespace

HostEvents::Wake HostEvents::wait(int timeout_ms) {
  Wake wake;
  pollfd fds[3] = {
      {state_->in_fd, POLLIN, 0}, {g_signal_pipe[0], POLLIN, 0}, {state_->watch_fd, POLLIN, 0}};
  int count = state_->watch_fd >= 0 ? 3 : 2;
  int ready = ::poll(fds, static_cast<nfds_t>(count), timeout_ms);
  if (ready < 0 && errno == EINTR) return wake;
  if (ready < 0) {
    wake.failure = std::string("poll failed: ") + std::strerror(errno);
    return wake;
  }
  if (fds[1].revents & POLLIN) wake.stop = true;
  if (ready == 0) wake.timeout = true;
  if (count == 3 && (fds[2].revents & POLLIN)) {
    // Any touch in the directory counts: the caller compares SQLite's
    // data_version to tell another process's commit from its own.
    drain_watch(state_->watch_fd, state_->signal_name);
    wake.changed = true;
  }
  if (fds[0].revents & POLLNVAL) wake.input_bad = true;
  if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) wake.input = true;
  return wake;
}

int64_t HostEvents::read_input(char* buffer, size_t size) {
  ssize_t n = ::read(state_->in_fd, buffer, size);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return -1;
  return n < 0 ? 0 : n;
}

}  // namespace stoflow::platform

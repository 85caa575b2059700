#include "messaging/native_host.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <set>

#include "messaging/blob_loopback.h"
#include "messaging/change_watcher.h"
#include "messaging/framing.h"
#include "messaging/rpc.h"
#include "util/clock.h"
#include "util/log.h"

namespace stoflow::messaging {

using nlohmann::json;

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
  if (::pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
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

constexpr int kForeignLeaseCheckMs = 1000;
constexpr int kFallbackChangeCheckMs = 2000;
constexpr size_t kReadChunk = 256 * 1024;

}  // namespace

int take_over_stdout() {
  int private_out = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
  if (private_out < 0) throw std::runtime_error("cannot duplicate stdout");
  ::dup2(STDERR_FILENO, STDOUT_FILENO);
  return private_out;
}

class NativeHost::Impl {
 public:
  Impl(service::Service& service, const std::string& client, NativeHostIo io)
      : service_(service),
        owner_(store::owners_dir_for(service.db_path())),
        rpc_(service, {owner_.id(), client}),
        io_(io),
        watcher_(service.db_path()) {
    if (auto origin = loopback_origin(client)) {
      rpc_.add_method("blobs.open", [this, origin = *origin](const json& params) {
        if (!loopback_) loopback_ = std::make_unique<BlobLoopback>(service_, origin);
        return loopback_->open(params);
      });
    }
  }

  int run();

 private:
  bool read_input();
  void handle_frames();
  void handle_payload(const std::string& payload);
  bool send(const json& message);
  // `wire` is a message's text (to_wire); one over the browser's limit is
  // replaced by a too_large error carrying its id.
  bool send_wire(std::string_view wire);
  void maintain();
  void announce();
  int poll_timeout_ms();
  void shutdown(const std::string& why);

  service::Service& service_;
  store::LeaseOwner owner_;
  RpcHandler rpc_;
  NativeHostIo io_;
  ChangeWatcher watcher_;
  FrameDecoder decoder_;
  std::set<std::string> announced_;
  bool running_ = true;
  bool output_broken_ = false;
  int64_t next_foreign_check_ = 0;
  workflow::Engine::DispatchState dispatch_;  // as the last maintain() found it
  std::unique_ptr<BlobLoopback> loopback_;    // made at the first blobs.open
};

NativeHost::NativeHost(service::Service& service, const std::string& client, NativeHostIo io)
    : impl_(std::make_unique<Impl>(service, client, io)) {}
NativeHost::~NativeHost() = default;
int NativeHost::run() {
  return impl_->run();
}

bool NativeHost::Impl::send(const json& message) {
  return send_wire(to_wire(message));
}

// The header and the message go out in one writev: no copy of the message
// into a frame.
bool NativeHost::Impl::send_wire(std::string_view wire) {
  if (wire.size() > kMaxOutgoingFrame) {
    // Too large for the browser: say so in a frame that fits. Every message
    // of ours that has an id names it first, so reading it back is cheap.
    std::string refusal = to_wire(
        rpc_error(recover_request_id(wire).value_or(nullptr), ErrorCode::kTooLarge,
                  "message of " + std::to_string(wire.size()) + " bytes exceeds the " +
                      std::to_string(kMaxOutgoingFrame) + "-byte limit of native messaging"));
    return send_wire(refusal);
  }
  uint32_t length = static_cast<uint32_t>(wire.size());
  char header[sizeof length];
  std::memcpy(header, &length, sizeof length);
  iovec parts[2] = {{header, sizeof header}, {const_cast<char*>(wire.data()), wire.size()}};
  iovec* part = parts;
  int count = 2;
  while (count > 0) {
    ssize_t n = ::writev(io_.out_fd, part, count);
    // A browser that stopped reading must not keep us from honouring SIGTERM.
    if (n < 0 && errno == EINTR && !g_stop_requested) continue;
    if (n <= 0) {
      output_broken_ = true;
      running_ = false;
      return false;
    }
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

void NativeHost::Impl::handle_payload(const std::string& payload) {
  auto reply = rpc_.handle_wire(payload);
  if (reply) send_wire(*reply);
  if (rpc_.last_method() == "tasks.list") announced_.clear();
}

void NativeHost::Impl::handle_frames() {
  while (auto event = decoder_.next()) {
    if (event->kind == FrameEvent::Kind::kOversize) {
      log::warn("refused a frame of " + std::to_string(event->declared) + " bytes");
      send(rpc_error(nullptr, ErrorCode::kTooLarge,
                     "message of " + std::to_string(event->declared) +
                         " bytes refused: the limit is " + std::to_string(kMaxIncomingFrame)));
      continue;
    }
    // One bad frame must not strand the frames that arrived with it: they
    // would wait for more input that may never come.
    try {
      handle_payload(event->payload);
    } catch (const std::exception& e) {
      log::error(std::string("failed to serve a message: ") + e.what());
      send(rpc_error(nullptr, ErrorCode::kInternal, "internal error while serving a message"));
    }
  }
}

// Returns false at end of input.
bool NativeHost::Impl::read_input() {
  std::string chunk(kReadChunk, '\0');
  ssize_t n = ::read(io_.in_fd, chunk.data(), chunk.size());
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) {
    if (decoder_.mid_frame()) {
      send(rpc_error(nullptr, ErrorCode::kParseError,
                     "input ended inside a frame: truncated length or message"));
    }
    return false;
  }
  chunk.resize(static_cast<size_t>(n));
  decoder_.feed(chunk);
  handle_frames();
  return true;
}

void NativeHost::Impl::maintain() {
  auto& engine = service_.engine();
  int64_t now = now_ms();
  if (now >= next_foreign_check_) {
    next_foreign_check_ = now + kForeignLeaseCheckMs;
    service_.recover_dead_hosts(owner_.id());
  }
  dispatch_ = engine.dispatch_state(owner_.id());
  if (dispatch_.next_deadline_ms && *dispatch_.next_deadline_ms <= now) {
    engine.expire_leases();
    dispatch_ = engine.dispatch_state(owner_.id());
  }
}

// Tells the extension which platforms have a step for it, once per change:
// a platform is announced again only after the extension listed tasks or the
// platform stopped being ready in between. Work waiting when the browser
// starts the host is announced at once, before any request.
void NativeHost::Impl::announce() {
  if (!running_) return;
  const auto& ready = dispatch_.ready_platforms;
  std::set<std::string> ready_set(ready.begin(), ready.end());
  std::set<std::string> still;
  std::set_intersection(announced_.begin(), announced_.end(), ready_set.begin(), ready_set.end(),
                        std::inserter(still, still.end()));
  announced_ = still;
  bool fresh = std::any_of(ready.begin(), ready.end(),
                           [&](const std::string& p) { return !announced_.contains(p); });
  if (!fresh) return;
  send(rpc_notification("tasks.available", {{"platforms", ready}}));
  announced_ = ready_set;
}

int NativeHost::Impl::poll_timeout_ms() {
  int64_t now = now_ms();
  int64_t wait = 60 * 60 * 1000;
  if (dispatch_.next_deadline_ms) wait = std::max<int64_t>(0, *dispatch_.next_deadline_ms - now);
  if (dispatch_.foreign_leases) {
    wait = std::min<int64_t>(wait, std::max<int64_t>(0, next_foreign_check_ - now));
  }
  if (watcher_.fd() < 0) wait = std::min<int64_t>(wait, kFallbackChangeCheckMs);
  return static_cast<int>(std::min<int64_t>(wait + 5, 60 * 60 * 1000));
}

void NativeHost::Impl::shutdown(const std::string& why) {
  int released = service_.engine().release_owner(owner_.id(), "the browser connection closed");
  log::info("native host stopping (" + why + "), released " + std::to_string(released) +
            " lease(s)");
}

namespace {

// Chrome reads a native host's pipe 4 KiB at a time, a megabyte in 20 to 90
// ms here. In the default 64 KiB pipe a host writing a photo's chunks back to
// back stays blocked until the browser has nearly read a reply, and the browser
// may then wait while the host reads and encodes the next one. 256 KiB holds a
// whole reply of the extension's 128 KiB chunks, so the host goes on to the
// next one at once. A pipe the kernel will not grow (the user's pipe budget
// spent), or an output that is no pipe, is left as it is.
void grow_output_pipe(int fd) {
#ifdef F_SETPIPE_SZ
  constexpr int kPipeBytes = 256 * 1024;
  if (::fcntl(fd, F_GETPIPE_SZ) < kPipeBytes) (void)::fcntl(fd, F_SETPIPE_SZ, kPipeBytes);
#else
  (void)fd;
#endif
}

}  // namespace

int NativeHost::Impl::run() {
  install_signal_handlers();
  grow_output_pipe(io_.out_fd);
  log::info("native host serving " + service_.db_path().string() + " as " + owner_.id());
  // A host that died holding leases is recovered now, not at lease expiry.
  next_foreign_check_ = 0;
  std::string stop_reason = "end of input";
  // One maintenance pass per event that can change what is ready: a message,
  // a deadline, another process's commit. The touch of the commit signal
  // file that our own commits cause wakes the watch too; data_version tells
  // those apart, so a step costs one pass, not two.
  bool dirty = true;
  int64_t seen_version = service_.db().data_version();
  while (running_) {
    if (dirty) {
      dirty = false;
      try {
        log::debug("maintenance pass");
        maintain();
        announce();
      } catch (const std::exception& e) {
        log::error(std::string("maintenance failed: ") + e.what());
      }
    }
    if (!running_) break;
    pollfd fds[3] = {
        {io_.in_fd, POLLIN, 0}, {g_signal_pipe[0], POLLIN, 0}, {watcher_.fd(), POLLIN, 0}};
    int count = watcher_.fd() >= 0 ? 3 : 2;
    int ready = ::poll(fds, static_cast<nfds_t>(count), poll_timeout_ms());
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) {
      stop_reason = std::string("poll failed: ") + strerror(errno);
      break;
    }
    if (fds[1].revents & POLLIN) {
      stop_reason = "signal";
      break;
    }
    if (ready == 0) dirty = true;  // a deadline, or the timer that stands in for the watch
    if (count == 3 && (fds[2].revents & POLLIN)) {
      watcher_.drain();
      int64_t version = service_.db().data_version();
      if (version != seen_version) dirty = true;
      seen_version = version;
    }
    if (fds[0].revents & POLLNVAL) break;  // stdin is not a usable descriptor: nothing to serve
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      try {
        if (!read_input()) break;
      } catch (const std::exception& e) {
        log::error(std::string("failed to serve a message: ") + e.what());
      }
      dirty = true;
    }
  }
  if (output_broken_) stop_reason = "broken pipe";
  try {
    shutdown(stop_reason);
  } catch (const std::exception& e) {
    log::error(std::string("shutdown failed: ") + e.what());
  }
  return 0;
}

}  // namespace stoflow::messaging

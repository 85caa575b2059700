#include "messaging/native_host.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <set>

#include "messaging/framing.h"
#include "messaging/rpc.h"
#include "platform/host_io.h"
#include "store/database.h"
#include "util/clock.h"
#include "util/log.h"

namespace stoflow::messaging {

using nlohmann::json;

namespace {

constexpr int kForeignLeaseCheckMs = 1000;
constexpr int kFallbackChangeCheckMs = 2000;
constexpr size_t kReadChunk = 256 * 1024;

}  // namespace

int take_over_stdout() {
  return platform::take_over_stdout();
}

class NativeHost::Impl {
 public:
  Impl(service::Service& service, const std::string& client, NativeHostIo io)
      : service_(service),
        owner_(store::owners_dir_for(service.db_path())),
        rpc_(service, {owner_.id(), client}),
        io_(io),
        events_(io.in_fd, store::commit_signal_path(service.db_path())) {}

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
  platform::HostEvents events_;
  FrameDecoder decoder_;
  std::set<std::string> announced_;
  bool running_ = true;
  bool output_broken_ = false;
  int64_t next_foreign_check_ = 0;
  workflow::Engine::DispatchState dispatch_;  // as the last maintain() found it
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

// The header and the message go out in one write (a writev on POSIX): no
// copy of the message into a frame.
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
  if (!platform::write_all(io_.out_fd, std::string_view(header, sizeof header), wire)) {
    output_broken_ = true;
    running_ = false;
    return false;
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
  int64_t n = events_.read_input(chunk.data(), chunk.size());
  if (n < 0) return true;
  if (n == 0) {
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
  if (!events_.watching()) wait = std::min<int64_t>(wait, kFallbackChangeCheckMs);
  return static_cast<int>(std::min<int64_t>(wait + 5, 60 * 60 * 1000));
}

void NativeHost::Impl::shutdown(const std::string& why) {
  int released = service_.engine().release_owner(owner_.id(), "the browser connection closed");
  log::info("native host stopping (" + why + "), released " + std::to_string(released) +
            " lease(s)");
}

int NativeHost::Impl::run() {
  platform::grow_output_pipe(io_.out_fd);
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
    auto wake = events_.wait(poll_timeout_ms());
    if (!wake.failure.empty()) {
      stop_reason = wake.failure;
      break;
    }
    if (wake.stop) {
      stop_reason = "signal";
      break;
    }
    if (wake.timeout) dirty = true;  // a deadline, or the timer that stands in for the watch
    if (wake.changed) {
      int64_t version = service_.db().data_version();
      if (version != seen_version) dirty = true;
      seen_version = version;
    }
    if (wake.input_bad) break;  // stdin is not a usable descriptor: nothing to serve
    if (wake.input) {
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

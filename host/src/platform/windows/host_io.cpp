// The Windows side of platform/host_io.h.
#include "platform/host_io.h"

#include <fcntl.h>
#include <io.h>
#include <windows.h>
// windows.h first
#include <shellapi.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "platform/files.h"
#include "util/log.h"

namespace stoflow::platform {

namespace {

std::atomic<bool> g_stop_requested{false};
HANDLE g_stop_event = nullptr;

BOOL WINAPI on_console_event(DWORD) {
  g_stop_requested = true;
  if (g_stop_event) ::SetEvent(g_stop_event);
  return TRUE;
}

constexpr size_t kReadChunk = 256 * 1024;
// The reader stops reading ahead past this much unconsumed input.
constexpr size_t kMaxBuffered = 4 * 1024 * 1024;

}  // namespace

std::vector<std::string> arguments(int argc, char** argv) {
  int count = 0;
  LPWSTR* wide = ::CommandLineToArgvW(::GetCommandLineW(), &count);
  if (!wide) return std::vector<std::string>(argv + (argc > 0 ? 1 : 0), argv + argc);
  std::vector<std::string> args;
  for (int i = 1; i < count; ++i) args.push_back(utf8(std::filesystem::path(wide[i])));
  ::LocalFree(wide);
  return args;
}

void binary_stdio() {
  ::_setmode(0, _O_BINARY);
  ::_setmode(1, _O_BINARY);
  ::_setmode(2, _O_BINARY);
}

int take_over_stdout() {
  int private_out = ::_dup(1);
  if (private_out < 0) throw std::runtime_error("cannot duplicate stdout");
  ::_dup2(2, 1);
  ::_setmode(0, _O_BINARY);
  ::_setmode(private_out, _O_BINARY);
  return private_out;
}

bool write_all(int fd, const char* data, size_t size) {
  HANDLE out = reinterpret_cast<HANDLE>(::_get_osfhandle(fd));
  while (size > 0) {
    DWORD want = size > 0x40000000 ? 0x40000000 : static_cast<DWORD>(size);
    DWORD written = 0;
    if (!::WriteFile(out, data, want, &written, nullptr) || written == 0) return false;
    data += written;
    size -= written;
  }
  return true;
}

bool write_all(int fd, std::string_view head, std::string_view body) {
  return write_all(fd, head.data(), head.size()) && write_all(fd, body.data(), body.size());
}

// The pipe's size is the browser's choice on Windows.
void grow_output_pipe(int) {}

// stdin is read by a thread of its own: an anonymous pipe cannot be waited on
// for readability. It reads ahead at most kMaxBuffered bytes; `ready` is set
// while bytes or the end of input wait for the loop.
struct HostEvents::State {
  HANDLE in = INVALID_HANDLE_VALUE;
  HANDLE ready = nullptr;
  HANDLE change = INVALID_HANDLE_VALUE;
  std::mutex mutex;
  std::condition_variable drained;
  std::string buffered;
  bool ended = false;
  bool bad_input = false;

  void reader() {
    std::string chunk(kReadChunk, '\0');
    for (;;) {
      {
        std::unique_lock lock(mutex);
        drained.wait(lock, [&] { return buffered.size() < kMaxBuffered; });
      }
      DWORD got = 0;
      BOOL ok = ::ReadFile(in, chunk.data(), static_cast<DWORD>(chunk.size()), &got, nullptr);
      std::lock_guard lock(mutex);
      if (!ok || got == 0) {
        // ERROR_BROKEN_PIPE: the writer closed its end, the pipe's end of input.
        ended = true;
        ::SetEvent(ready);
        return;
      }
      buffered.append(chunk.data(), got);
      ::SetEvent(ready);
    }
  }
};

HostEvents::HostEvents(int in_fd, const std::filesystem::path& signal_file)
    : state_(std::make_unique<State>()) {
  g_stop_event = ::CreateEventW(nullptr, TRUE, FALSE, nullptr);
  state_->ready = ::CreateEventW(nullptr, TRUE, FALSE, nullptr);
  if (!g_stop_event || !state_->ready) throw std::runtime_error("cannot create the host's events");
  ::SetConsoleCtrlHandler(on_console_event, TRUE);

  state_->in = reinterpret_cast<HANDLE>(::_get_osfhandle(in_fd));
  if (state_->in == INVALID_HANDLE_VALUE) {
    state_->bad_input = true;
    ::SetEvent(state_->ready);
  } else {
    // Never joined: it may be blocked in ReadFile when the host returns, and
    // the process's exit ends it.
    std::thread([state = state_.get()] { state->reader(); }).detach();
  }

  auto dir =
      signal_file.parent_path().empty() ? std::filesystem::path(".") : signal_file.parent_path();
  state_->change = ::FindFirstChangeNotificationW(
      dir.c_str(), FALSE, FILE_NOTIFY_CHANGE_LAST_WRITE | FILE_NOTIFY_CHANGE_FILE_NAME);
  if (state_->change == INVALID_HANDLE_VALUE) {
    log::warn("cannot watch " + dir.string() + "; falling back to a timer");
  }
}

HostEvents::~HostEvents() {
  if (state_->change != INVALID_HANDLE_VALUE) ::FindCloseChangeNotification(state_->change);
  // The reader thread may still use `state_` (blocked in ReadFile): it is left
  // to the process's exit, as are the events.
  (void)state_.release();
}

bool HostEvents::watching() const {
  return state_->change != INVALID_HANDLE_VALUE;
}

bool HostEvents::stop_requested() {
  return g_stop_requested;
}

HostEvents::Wake HostEvents::wait(int timeout_ms) {
  Wake wake;
  HANDLE handles[3] = {state_->ready, g_stop_event, state_->change};
  DWORD count = watching() ? 3 : 2;
  DWORD r = ::WaitForMultipleObjects(count, handles, FALSE,
                                     timeout_ms < 0 ? INFINITE : static_cast<DWORD>(timeout_ms));
  if (r == WAIT_TIMEOUT) {
    wake.timeout = true;
    return wake;
  }
  if (r == WAIT_FAILED) {
    wake.failure = "WaitForMultipleObjects failed: error " + std::to_string(::GetLastError());
    return wake;
  }
  if (::WaitForSingleObject(g_stop_event, 0) == WAIT_OBJECT_0) wake.stop = true;
  if (watching() && ::WaitForSingleObject(state_->change, 0) == WAIT_OBJECT_0) {
    ::FindNextChangeNotification(state_->change);
    wake.changed = true;
  }
  if (::WaitForSingleObject(state_->ready, 0) == WAIT_OBJECT_0) {
    if (state_->bad_input) {
      wake.input_bad = true;
    } else {
      wake.input = true;
    }
  }
  return wake;
}

int64_t HostEvents::read_input(char* buffer, size_t size) {
  std::lock_guard lock(state_->mutex);
  if (state_->buffered.empty()) {
    if (state_->ended) return 0;
    ::ResetEvent(state_->ready);
    return -1;
  }
  size_t n = std::min(size, state_->buffered.size());
  std::memcpy(buffer, state_->buffered.data(), n);
  state_->buffered.erase(0, n);
  if (state_->buffered.empty() && !state_->ended) ::ResetEvent(state_->ready);
  state_->drained.notify_one();
  return static_cast<int64_t>(n);
}

}  // namespace stoflow::platform

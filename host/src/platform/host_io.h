#pragma once
// The platform layer's part of the native host: its stdio and its event loop.
// The host waits for four things at once: bytes on stdin (the browser's
// frames), a request to stop (SIGTERM, SIGINT, SIGHUP on POSIX; a console
// control event on Windows), a commit by another process (the commit-signal
// file touched, see store::commit_signal_path) and a deadline.
//
// POSIX: poll() over stdin, a self-pipe written by the signal handler, and on
// Linux an inotify watch on the database's directory (none on macOS: the
// host's short timer stands in). Windows: a thread reads stdin (pipes cannot
// be waited on for readability) and hands the bytes over under a mutex, a
// console control handler sets an event, FindFirstChangeNotificationW watches
// the directory; WaitForMultipleObjects waits for all three. See "Platforms"
// in docs/architecture.md.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace stoflow::platform {

// The program's arguments (argv[1..]) as UTF-8: argv itself on POSIX; on
// Windows the wide command line (argv is in the ANSI code page there, which
// cannot hold every folder name).
std::vector<std::string> arguments(int argc, char** argv);

// stdin, stdout and stderr in binary mode (Windows' text mode ends input at
// 0x1A and writes "\n" as "\r\n"; the CLI's output is then the same bytes on
// every system). Nothing to do on POSIX.
void binary_stdio();

// Re-points fd 1 at stderr and returns a private duplicate of the original
// stdout: a stray print anywhere can then no longer corrupt the frame stream.
// On Windows stdin and the returned descriptor are switched to binary mode
// (text mode ends input at a 0x1A byte and writes "\n" as "\r\n").
int take_over_stdout();

// Writes every byte, retrying short writes. False when the reader went away
// (EPIPE: SIGPIPE is ignored) or a stop was requested while it was blocked.
bool write_all(int fd, const char* data, size_t size);
// write_all of `head` then `body`, with no copy of the body into a frame (one
// writev on POSIX).
bool write_all(int fd, std::string_view head, std::string_view body);

// Chrome reads a native host's pipe 4 KiB at a time, a megabyte in 20 to 90
// ms. In Linux's default 64 KiB pipe a host writing a photo's chunks back to
// back stays blocked until the browser has nearly read a reply, and the
// browser may then wait while the host reads and encodes the next one: grows
// the pipe behind `fd` to 256 KiB where the system allows it (Linux), so a
// whole reply of the extension's 128 KiB chunks fits. Leaves anything else.
void grow_output_pipe(int fd);

class HostEvents {
 public:
  // Installs the stop handlers and watches the directory of `signal_file`
  // for its touch. Once per process.
  HostEvents(int in_fd, const std::filesystem::path& signal_file);
  ~HostEvents();
  HostEvents(const HostEvents&) = delete;
  HostEvents& operator=(const HostEvents&) = delete;

  struct Wake {
    bool input = false;      // read_input has bytes or the end of input
    bool input_bad = false;  // stdin is no usable descriptor: nothing to serve
    bool stop = false;       // a stop was requested
    bool changed = false;    // something changed in the signal file's directory
    bool timeout = false;    // nothing happened in timeout_ms
    std::string failure;     // the wait itself failed: the host stops
  };
  Wake wait(int timeout_ms);

  // After Wake::input: bytes read, 0 at the end of input, -1 when nothing is
  // there after all (try again).
  int64_t read_input(char* buffer, size_t size);

  // False when changes cannot be watched: the host then checks on a timer.
  bool watching() const;

  static bool stop_requested();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace stoflow::platform

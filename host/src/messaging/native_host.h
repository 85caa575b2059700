#pragma once
#include <memory>
#include <string>

#include "service/service.h"
#include "store/lease_owner.h"

namespace stoflow::messaging {

struct NativeHostIo {
  int in_fd = 0;
  int out_fd = 1;
};

// Serves one browser connection until its end of stdin, SIGTERM/SIGINT or a
// broken pipe. Single-threaded: poll() over stdin, a signal pipe, the
// database change watch and the next lease/retry deadline. The first
// blobs.open adds the photo listener's thread (messaging/blob_loopback.h).
class NativeHost {
 public:
  NativeHost(service::Service& service, const std::string& client, NativeHostIo io);
  ~NativeHost();
  NativeHost(const NativeHost&) = delete;
  NativeHost& operator=(const NativeHost&) = delete;

  int run();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Re-points fd 1 at stderr and returns a private duplicate of the original
// stdout: a stray print anywhere can then no longer corrupt the frame stream.
int take_over_stdout();

}  // namespace stoflow::messaging

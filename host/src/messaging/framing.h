#pragma once
// Native-messaging framing: a 32-bit length in native byte order, then that
// many bytes of UTF-8 JSON. The decoder is fed whatever the pipe delivers and
// yields whole frames only, however the bytes were split.
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

namespace stoflow::messaging {

inline constexpr uint64_t kMaxIncomingFrame = 64ull * 1024 * 1024;  // docs/protocol.md
inline constexpr uint64_t kMaxOutgoingFrame = 1024ull * 1024;       // Chrome's limit

struct FrameEvent {
  enum class Kind { kFrame, kOversize } kind = Kind::kFrame;
  std::string payload;    // kFrame
  uint64_t declared = 0;  // the length the header announced
};

class FrameDecoder {
 public:
  explicit FrameDecoder(uint64_t max_frame = kMaxIncomingFrame) : max_frame_(max_frame) {}

  void feed(std::string_view bytes);
  std::optional<FrameEvent> next();

  // True when bytes of an unfinished frame (or header) are buffered: at end of
  // input that is a truncated frame.
  bool mid_frame() const { return !buffer_.empty() || discard_left_ > 0; }

 private:
  uint64_t max_frame_;
  std::string buffer_;
  size_t consumed_ = 0;
  uint64_t discard_left_ = 0;  // bytes of a refused oversize frame still to skip
  std::deque<FrameEvent> ready_;
  void compact();
};

// Throws AppError(kTooLarge) when the payload exceeds the outgoing limit.
std::string encode_frame(std::string_view payload, uint64_t max_frame = kMaxOutgoingFrame);

}  // namespace stoflow::messaging

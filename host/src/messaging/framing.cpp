#include "messaging/framing.h"

#include <cstring>

#include "util/errors.h"

namespace stoflow::messaging {

void FrameDecoder::feed(std::string_view bytes) {
  // Skip the body of a refused frame without ever holding it in memory.
  if (discard_left_ > 0) {
    size_t skip = static_cast<size_t>(std::min<uint64_t>(discard_left_, bytes.size()));
    discard_left_ -= skip;
    bytes.remove_prefix(skip);
  }
  buffer_.append(bytes);
  for (;;) {
    size_t available = buffer_.size() - consumed_;
    if (available < sizeof(uint32_t)) break;
    uint32_t length = 0;
    std::memcpy(&length, buffer_.data() + consumed_, sizeof length);
    if (length > max_frame_) {
      consumed_ += sizeof length;
      FrameEvent event{FrameEvent::Kind::kOversize, {}, length};
      ready_.push_back(std::move(event));
      uint64_t here = std::min<uint64_t>(length, buffer_.size() - consumed_);
      consumed_ += static_cast<size_t>(here);
      discard_left_ = length - here;
      if (discard_left_ > 0) break;
      continue;
    }
    if (available - sizeof length < length) break;
    FrameEvent event;
    event.payload.assign(buffer_, consumed_ + sizeof length, length);
    event.declared = length;
    consumed_ += sizeof length + length;
    ready_.push_back(std::move(event));
  }
  compact();
}

void FrameDecoder::compact() {
  if (consumed_ == 0) return;
  buffer_.erase(0, consumed_);
  consumed_ = 0;
}

std::optional<FrameEvent> FrameDecoder::next() {
  if (ready_.empty()) return std::nullopt;
  FrameEvent event = std::move(ready_.front());
  ready_.pop_front();
  return event;
}

std::string encode_frame(std::string_view payload, uint64_t max_frame) {
  if (payload.size() > max_frame) {
    throw AppError(ErrorCode::kTooLarge, "message of " + std::to_string(payload.size()) +
                                             " bytes exceeds the " + std::to_string(max_frame) +
                                             "-byte limit of native messaging");
  }
  uint32_t length = static_cast<uint32_t>(payload.size());
  std::string frame(sizeof length + payload.size(), '\0');
  std::memcpy(frame.data(), &length, sizeof length);
  std::memcpy(frame.data() + sizeof length, payload.data(), payload.size());
  return frame;
}

}  // namespace stoflow::messaging

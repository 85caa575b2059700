// The Windows build's blobs.open until the photo listener is ported (it uses
// sendfile and accept4): the method is not offered, and the extension reads
// photos with blobs.read, as from any host without it.
#include "messaging/blob_loopback.h"
#include "util/errors.h"

namespace stoflow::messaging {

std::optional<std::string> loopback_origin(const std::string&) {
  return std::nullopt;
}

bool is_firefox_extension_origin(std::string_view) {
  return false;
}

class BlobLoopback::Impl {};

BlobLoopback::BlobLoopback(service::Service& service, std::string allowed_origin)
    : service_(service), origin_(std::move(allowed_origin)) {}

BlobLoopback::~BlobLoopback() = default;

nlohmann::json BlobLoopback::open(const nlohmann::json&) {
  throw AppError(ErrorCode::kMethodNotFound, "blobs.open is not available in this build");
}

int BlobLoopback::port() const {
  return 0;
}

}  // namespace stoflow::messaging

// The Windows build's stand-in for fetch/url_photos.cpp until photo downloads
// get a Windows HTTP client (libcurl has no MinGW package in Debian): a photo
// URL in a product file is refused with a clear message, local photos work.
#include "fetch/url_photos.h"
#include "util/errors.h"

namespace stoflow::fetch {

FetchLimits FetchLimits::from_environment() {
  return FetchLimits{};
}

UrlPhotoFetcher::UrlPhotoFetcher(store::BlobStore& blobs, FetchLimits limits)
    : blobs_(blobs), limits_(std::move(limits)) {}

store::StoredBlob UrlPhotoFetcher::fetch(const std::string& url) const {
  throw AppError(ErrorCode::kFetchFailed,
                 "cannot download " + url +
                     ": photo URLs are not supported on Windows yet; save the photo next to "
                     "the product file and name its path instead",
                 nlohmann::json{{"url", url}});
}

}  // namespace stoflow::fetch

#include "fetch/url_photos.h"

#include <curl/curl.h>

#include <memory>
#include <mutex>

#include "util/errors.h"
#include "util/paths.h"

namespace stoflow::fetch {

namespace {

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Download {
  std::string bytes;
  int64_t max_bytes = 0;
  bool too_large = false;
};

size_t on_data(char* data, size_t size, size_t count, void* user) {
  auto* download = static_cast<Download*>(user);
  size_t n = size * count;
  if (static_cast<int64_t>(download->bytes.size() + n) > download->max_bytes) {
    download->too_large = true;
    return 0;  // makes curl stop with CURLE_WRITE_ERROR
  }
  download->bytes.append(data, n);
  return n;
}

AppError fetch_error(const std::string& url, const std::string& why) {
  return AppError(ErrorCode::kFetchFailed, "cannot download " + url + ": " + why,
                  nlohmann::json{{"url", url}});
}

}  // namespace

FetchLimits FetchLimits::from_environment() {
  FetchLimits limits;
  limits.connect_timeout_ms =
      env_int("STOFLOW_FETCH_CONNECT_TIMEOUT_MS", limits.connect_timeout_ms);
  limits.total_timeout_ms = env_int("STOFLOW_FETCH_TIMEOUT_MS", limits.total_timeout_ms);
  return limits;
}

UrlPhotoFetcher::UrlPhotoFetcher(store::BlobStore& blobs, FetchLimits limits)
    : blobs_(blobs), limits_(limits) {
  init_curl_once();
}

store::StoredBlob UrlPhotoFetcher::fetch(const std::string& url) const {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) throw fetch_error(url, "libcurl could not start");
  Download download;
  download.max_bytes = limits_.max_bytes;
  char error[CURL_ERROR_SIZE] = {0};
  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, limits_.max_redirects);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(limits_.connect_timeout_ms));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(limits_.total_timeout_ms));
  curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(limits_.max_bytes));
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "stoflow-host (photo import)");
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &download);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(h, CURLOPT_FAILONERROR, 0L);

  CURLcode rc = curl_easy_perform(h);
  if (download.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
    throw AppError(
        ErrorCode::kTooLarge,
        "cannot download " + url + ": larger than " + std::to_string(limits_.max_bytes) + " bytes",
        nlohmann::json{{"url", url}});
  }
  if (rc == CURLE_TOO_MANY_REDIRECTS)
    throw fetch_error(url, "more than " + std::to_string(limits_.max_redirects) + " redirects");
  if (rc == CURLE_OPERATION_TIMEDOUT) throw fetch_error(url, "timed out");
  if (rc != CURLE_OK) throw fetch_error(url, *error ? error : curl_easy_strerror(rc));
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status >= 300)
    throw fetch_error(url, "the server answered HTTP " + std::to_string(status));
  try {
    return blobs_.put_bytes(download.bytes);
  } catch (const AppError& e) {
    throw AppError(e.code(), url + ": " + e.what(), nlohmann::json{{"url", url}});
  }
}

}  // namespace stoflow::fetch

#include "fetch/curl_api.h"

#include <dlfcn.h>

#include <stdexcept>
#include <string>
#include <variant>

namespace stoflow::fetch {

namespace {

constexpr const char* kMissing = "photo downloads need libcurl (Debian package libcurl4): ";

template <typename Function>
void bind(void* library, const char* library_name, const char* name, Function& function) {
  // dlerror() is cleared first: a null from dlsym is then an error only if
  // dlerror() says so, and no libcurl function is legitimately null.
  ::dlerror();
  void* symbol = ::dlsym(library, name);
  if (!symbol) {
    const char* why = ::dlerror();
    throw std::runtime_error(kMissing + std::string(library_name) + " has no " + name +
                             (why ? std::string(" (") + why + ")" : std::string()));
  }
  function = reinterpret_cast<Function>(symbol);
}

}  // namespace

CurlApi load_curl_api(const char* library) {
  // RTLD_LOCAL: libcurl's symbols (and those of the TLS library it brings)
  // stay out of the process's global namespace.
  void* handle = ::dlopen(library, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = ::dlerror();
    throw std::runtime_error(kMissing + (why ? std::string(why) : std::string(library)));
  }
  CurlApi api;
  try {
    bind(handle, library, "curl_global_init", api.global_init);
    bind(handle, library, "curl_easy_init", api.easy_init);
    bind(handle, library, "curl_easy_cleanup", api.easy_cleanup);
    bind(handle, library, "curl_easy_setopt", api.easy_setopt);
    bind(handle, library, "curl_easy_perform", api.easy_perform);
    bind(handle, library, "curl_easy_getinfo", api.easy_getinfo);
    bind(handle, library, "curl_easy_strerror", api.easy_strerror);
    bind(handle, library, "curl_slist_append", api.slist_append);
    bind(handle, library, "curl_slist_free_all", api.slist_free_all);
  } catch (...) {
    ::dlclose(handle);
    throw;
  }
  return api;  // the handle is never closed: libcurl is used until exit
}

const CurlApi& curl_api() {
  // A function-local static: initialised once, by the first thread to get
  // here (serve imports on several workers), the others waiting for it.
  static const std::variant<CurlApi, std::string> loaded =
      []() -> std::variant<CurlApi, std::string> {
    try {
      CurlApi api = load_curl_api("libcurl.so.4");
      if (CURLcode rc = api.global_init(CURL_GLOBAL_DEFAULT); rc != CURLE_OK) {
        return std::string("libcurl could not start: ") + api.easy_strerror(rc);
      }
      return api;
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
  }();
  if (const auto* error = std::get_if<std::string>(&loaded)) throw std::runtime_error(*error);
  return std::get<CurlApi>(loaded);
}

}  // namespace stoflow::fetch

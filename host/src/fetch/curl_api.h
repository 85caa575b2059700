#pragma once
// libcurl, loaded with dlopen() at the first HTTP request instead of linked:
// the native host, the HTTP server and most commands never download anything,
// and linking libcurl made every one of them load it and the 30-odd libraries
// it needs (TLS, HTTP/2, Kerberos, LDAP, SSH, ...) at start. Only the types
// and constants come from <curl/curl.h>; the functions come from this table.
#include <curl/curl.h>

namespace stoflow::fetch {

// The libcurl functions the HTTP client (fetch/http_client_curl.cpp) calls,
// with the headers' own types.
struct CurlApi {
  decltype(&::curl_global_init) global_init = nullptr;
  decltype(&::curl_easy_init) easy_init = nullptr;
  decltype(&::curl_easy_cleanup) easy_cleanup = nullptr;
  decltype(&::curl_easy_setopt) easy_setopt = nullptr;
  decltype(&::curl_easy_perform) easy_perform = nullptr;
  decltype(&::curl_easy_getinfo) easy_getinfo = nullptr;
  decltype(&::curl_easy_strerror) easy_strerror = nullptr;
  decltype(&::curl_slist_append) slist_append = nullptr;
  decltype(&::curl_slist_free_all) slist_free_all = nullptr;
};

// Opens `library` and looks up every function of CurlApi; throws
// std::runtime_error "photo downloads need libcurl (Debian package libcurl4):
// ..." saying what is missing (the library, or one of its functions). The
// library stays loaded. Only the tests name another library.
CurlApi load_curl_api(const char* library);

// libcurl.so.4, loaded and initialised (curl_global_init) by the first call,
// once per process whatever the threads; later calls return the same table,
// or throw the same error when libcurl is missing.
const CurlApi& curl_api();

}  // namespace stoflow::fetch

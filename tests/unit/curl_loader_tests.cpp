// libcurl is loaded at the first photo download (fetch/curl_api.h): the
// table is complete when it is there, and a machine without it, or with a
// library of that name that is not libcurl, gets an error that says what to
// install.
#include <boost/test/unit_test.hpp>
#include <string>

#include "fetch/curl_api.h"

using namespace stoflow::fetch;

namespace {

std::string error_of(const char* library) {
  try {
    load_curl_api(library);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "no error";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(curl_loader)

BOOST_AUTO_TEST_CASE(libcurl_is_found_and_every_function_bound) {
  const CurlApi& api = curl_api();
  BOOST_TEST(api.global_init != nullptr);
  BOOST_TEST(api.easy_init != nullptr);
  BOOST_TEST(api.easy_cleanup != nullptr);
  BOOST_TEST(api.easy_setopt != nullptr);
  BOOST_TEST(api.easy_perform != nullptr);
  BOOST_TEST(api.easy_getinfo != nullptr);
  BOOST_TEST(api.easy_strerror != nullptr);
  BOOST_TEST(api.slist_append != nullptr);
  BOOST_TEST(api.slist_free_all != nullptr);
  BOOST_TEST(&curl_api() == &api, "loaded once");
  // The functions are libcurl's own: a handle comes and goes, and a known
  // code reads as libcurl words it.
  CURL* handle = api.easy_init();
  BOOST_TEST(handle != nullptr);
  BOOST_TEST(api.easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK);
  api.easy_cleanup(handle);
  BOOST_TEST(std::string(api.easy_strerror(CURLE_OPERATION_TIMEDOUT)) == "Timeout was reached");
}

BOOST_AUTO_TEST_CASE(a_missing_libcurl_says_which_package_to_install) {
  std::string error = error_of("libstoflow-no-such-curl.so.4");
  BOOST_TEST(contains(error, "photo downloads need libcurl (Debian package libcurl4)"), error);
  BOOST_TEST(contains(error, "libstoflow-no-such-curl.so.4"), error);
}

BOOST_AUTO_TEST_CASE(a_library_without_the_curl_functions_is_refused_by_name) {
  // zlib is there (the test support links it) and has none of them.
  std::string error = error_of("libz.so.1");
  BOOST_TEST(contains(error, "photo downloads need libcurl (Debian package libcurl4)"), error);
  BOOST_TEST(contains(error, "libz.so.1 has no curl_global_init"), error);
}

BOOST_AUTO_TEST_SUITE_END()

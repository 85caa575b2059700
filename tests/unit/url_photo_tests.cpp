#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <thread>

#include "local_http_server.h"
#include "service/service.h"
#include "test_support.h"
#include "util/crypto.h"
#include "util/errors.h"

using namespace stoflow;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// A real HTTP server on 127.0.0.1 with one route per case.
struct PhotoServer {
  std::atomic<int> hits{0};
  std::string good = testing::png_bytes(150'000, 4);
  std::string huge = testing::png_bytes(store::kMaxPhotoBytes + 1024, 5);
  testing::LocalHttpServer http{[this](httplib::Server& server) {
    server.Get("/good.png", [this](const httplib::Request&, httplib::Response& res) {
      ++hits;
      res.set_content(good, "image/png");
    });
    server.Get("/moved", [](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("/good.png");
    });
    server.Get("/to-ftp", [](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("ftp://127.0.0.1/good.png");
    });
    server.Get("/loop",
               [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/loop"); });
    server.Get("/missing.png", [](const httplib::Request&, httplib::Response& res) {
      res.status = 404;
      res.set_content("not here", "text/plain");
    });
    server.Get("/page.png", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("<html>a login page, not a photo</html>", "image/png");
    });
    server.Get("/huge.png", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(huge, "image/png");
    });
    server.Get("/slow.png", [this](const httplib::Request&, httplib::Response& res) {
      std::this_thread::sleep_for(4000ms);
      res.set_content(good, "image/png");
    });
  }};
  int port = http.port();

  std::string url(const std::string& path) const { return http.url(path); }
};

struct Fixture {
  testing::TempDir dir;
  PhotoServer photos;
  std::unique_ptr<service::Service> service;
  Fixture() {
    setenv("STOFLOW_FETCH_TIMEOUT_MS", "2000", 1);
    // The photos are served on 127.0.0.1, which only this escape hatch allows.
    setenv("STOFLOW_ALLOW_PRIVATE_PHOTO_URLS", "1", 1);
    service = std::make_unique<service::Service>(service::Config::from_environment(dir / "s.db"));
    unsetenv("STOFLOW_FETCH_TIMEOUT_MS");
    unsetenv("STOFLOW_ALLOW_PRIVATE_PHOTO_URLS");
  }
  int64_t count(const char* table) {
    auto q = service->db().query(std::string("SELECT COUNT(*) FROM ") + table);
    q.step();
    return q.int64(0);
  }
  AppError import_error(const std::string& path) {
    try {
      service->import_products(json::array({testing::vinted_product("x", {photos.url(path)})}),
                               std::nullopt);
    } catch (const AppError& e) {
      return e;
    }
    BOOST_FAIL("imported " << path);
    throw std::logic_error("unreachable");
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(url_photos_suite, Fixture)

BOOST_AUTO_TEST_CASE(a_good_url_and_a_redirect_store_the_same_bytes_once) {
  auto ids = service->import_products(
      json::array(
          {testing::vinted_product("coat", {photos.url("/good.png"), photos.url("/moved")})}),
      std::nullopt);
  auto product = service->products().get(ids[0]);
  BOOST_REQUIRE(product.images.size() == 2);
  BOOST_TEST(product.images[0].sha256 == sha256_hex(photos.good));
  BOOST_TEST(product.images[1].sha256 == product.images[0].sha256);
  BOOST_TEST(product.images[0].filename == "good.png");
  BOOST_TEST(product.images[0].source == photos.url("/good.png"));
  BOOST_TEST(count("blobs") == 1);
  BOOST_TEST(testing::read_file(service->blobs().path_for(product.images[0].sha256)) ==
             photos.good);
}

BOOST_AUTO_TEST_CASE(each_bad_url_gives_a_clear_error_and_writes_nothing) {
  struct Case {
    const char* path;
    ErrorCode code;
    const char* says;
  } cases[] = {
      {"/missing.png", ErrorCode::kFetchFailed, "HTTP 404"},
      {"/page.png", ErrorCode::kInvalidParams, "not a JPEG, PNG or WebP"},
      {"/huge.png", ErrorCode::kTooLarge, "larger than"},
      {"/loop", ErrorCode::kFetchFailed, "redirects"},
      {"/slow.png", ErrorCode::kFetchFailed, "timed out"},
  };
  for (const auto& c : cases) {
    AppError e = import_error(c.path);
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(c.code), c.path);
    std::string message = e.what();
    BOOST_TEST(message.find(c.says) != std::string::npos, message);
    BOOST_TEST(message.find(photos.url(c.path)) != std::string::npos, message);
  }
  BOOST_TEST(count("products") == 0);
  BOOST_TEST(count("product_images") == 0);
  BOOST_TEST(count("blobs") == 0);
}

BOOST_AUTO_TEST_CASE(a_redirect_is_checked_as_the_url_it_leads_to) {
  // The fetcher follows redirects itself (the HTTP client follows none): a
  // hop to another scheme is refused by name, before any connection.
  AppError e = import_error("/to-ftp");
  BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(ErrorCode::kFetchFailed));
  std::string message = e.what();
  BOOST_TEST(message.find("it redirects to ftp://127.0.0.1/good.png: the scheme ftp is not "
                          "supported") != std::string::npos,
             message);
  BOOST_TEST(photos.hits == 0);
  BOOST_TEST(count("blobs") == 0);
}

BOOST_AUTO_TEST_CASE(remote_callers_cannot_name_local_files) {
  testing::write_file(dir / "secret.png", testing::png_bytes(100, 1));
  BOOST_CHECK_THROW(
      service->import_products(
          json::array({testing::vinted_product("x", {(dir / "secret.png").string()})}),
          std::nullopt),
      AppError);
  BOOST_TEST(count("products") == 0);
}

BOOST_AUTO_TEST_CASE(only_http_and_https_are_fetched) {
  AppError e = [&] {
    try {
      service->import_products(
          json::array({testing::vinted_product("x", {"https://127.0.0.1:1/x.png"})}), std::nullopt);
    } catch (const AppError& err) {
      return err;
    }
    throw std::logic_error("imported from a closed port");
  }();
  BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(ErrorCode::kFetchFailed));
}

BOOST_AUTO_TEST_CASE(without_the_escape_hatch_this_machine_is_not_reached) {
  unsetenv("STOFLOW_ALLOW_PRIVATE_PHOTO_URLS");
  service::Service strict(service::Config::from_environment(dir / "strict.db"));
  for (std::string host : {"127.0.0.1", "localhost", "[::1]", "[::ffff:127.0.0.1]"}) {
    std::string url = "http://" + host + ":" + std::to_string(photos.port) + "/good.png";
    try {
      strict.import_products(json::array({testing::vinted_product("x", {url})}), std::nullopt);
      BOOST_FAIL("downloaded " << url);
    } catch (const AppError& e) {
      BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(ErrorCode::kFetchFailed));
      BOOST_TEST(std::string(e.what()).find("a loopback address") != std::string::npos, e.what());
    }
  }
  BOOST_TEST(photos.hits == 0);
}

BOOST_AUTO_TEST_CASE(photo_url_schemes_are_recognised_whatever_their_case) {
  auto ids = service->import_products(
      json::array({testing::vinted_product(
          "coat", {"HTTP://127.0.0.1:" + std::to_string(photos.port) + "/good.png"})}),
      std::nullopt);
  BOOST_TEST(service->products().get(ids[0]).images[0].source == photos.url("/good.png"));
  for (const char* url : {"file:///etc/passwd", "gopher://example.org/a.png", "data://x"}) {
    try {
      service->import_products(json::array({testing::vinted_product("x", {url})}), std::nullopt);
      BOOST_FAIL("imported " << url);
    } catch (const AppError& e) {
      BOOST_TEST(std::string(e.what()).find("is not supported; use https://") != std::string::npos,
                 e.what());
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

const char* kind_of(const std::string& text) {
  sockaddr_storage storage{};
  if (text.find(':') != std::string::npos) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    in6->sin6_family = AF_INET6;
    BOOST_REQUIRE(inet_pton(AF_INET6, text.c_str(), &in6->sin6_addr) == 1);
  } else {
    auto* in = reinterpret_cast<sockaddr_in*>(&storage);
    in->sin_family = AF_INET;
    BOOST_REQUIRE(inet_pton(AF_INET, text.c_str(), &in->sin_addr) == 1);
  }
  return fetch::non_public_address_kind(reinterpret_cast<const sockaddr*>(&storage));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(photo_url_addresses)

BOOST_AUTO_TEST_CASE(only_public_addresses_are_photo_servers) {
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"0.0.0.0", "unspecified"},
      {"0.1.2.3", "unspecified"},
      {"127.0.0.1", "loopback"},
      {"127.255.0.9", "loopback"},
      {"10.0.0.1", "private"},
      {"172.16.0.1", "private"},
      {"172.31.255.254", "private"},
      {"192.168.1.1", "private"},
      {"100.64.0.1", "carrier-grade NAT"},
      {"169.254.169.254", "link-local"},
      {"224.0.0.251", "multicast"},
      {"239.255.255.250", "multicast"},
      {"255.255.255.255", "reserved"},
      {"::", "unspecified"},
      {"::1", "loopback"},
      {"fe80::1", "link-local"},
      {"fc00::1", "unique local"},
      {"fd12:3456::1", "unique local"},
      {"ff02::fb", "multicast"},
      {"::ffff:127.0.0.1", "loopback"},
      {"::ffff:192.168.0.10", "private"},
      {"::ffff:169.254.169.254", "link-local"},
      {"::127.0.0.1", "loopback"},
      {"64:ff9b::a00:1", "private"},
      {"2002:c0a8:0101::1", "private"},
  };
  for (const auto& [address, kind] : refused) {
    const char* said = kind_of(address);
    BOOST_TEST_REQUIRE(said != nullptr, address << " passed as public");
    BOOST_TEST(std::string(said).find(kind) != std::string::npos, address << ": " << said);
  }
  for (const char* address :
       {"1.1.1.1", "8.8.8.8", "172.32.0.1", "172.15.255.255", "100.128.0.1", "193.0.6.139",
        "2606:4700::1111", "2a00:1450:4007::64", "::ffff:8.8.8.8", "64:ff9b::808:808"}) {
    const char* said = kind_of(address);
    BOOST_TEST(said == nullptr, address << " refused as " << (said ? said : ""));
  }
}

BOOST_AUTO_TEST_CASE(addresses_are_written_as_the_escape_hatch_lists_them) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(8080);
  inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
  BOOST_TEST(fetch::address_text(reinterpret_cast<sockaddr*>(&in)) == "127.0.0.1:8080");
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(443);
  inet_pton(AF_INET6, "::1", &in6.sin6_addr);
  BOOST_TEST(fetch::address_text(reinterpret_cast<sockaddr*>(&in6)) == "[::1]:443");
}

BOOST_AUTO_TEST_SUITE_END()

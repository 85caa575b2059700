#include <httplib.h>

#include <boost/test/unit_test.hpp>
#include <thread>

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
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::string good = testing::png_bytes(150'000, 4);
  std::string huge = testing::png_bytes(store::kMaxPhotoBytes + 1024, 5);

  PhotoServer() {
    server.Get("/good.png", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(good, "image/png");
    });
    server.Get("/moved", [](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("/good.png");
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
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
    while (!server.is_running()) std::this_thread::sleep_for(5ms);
  }
  ~PhotoServer() {
    server.stop();
    thread.join();
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port) + path;
  }
};

struct Fixture {
  testing::TempDir dir;
  PhotoServer photos;
  std::unique_ptr<service::Service> service;
  Fixture() {
    setenv("STOFLOW_FETCH_TIMEOUT_MS", "2000", 1);
    service = std::make_unique<service::Service>(service::Config::from_environment(dir / "s.db"));
    unsetenv("STOFLOW_FETCH_TIMEOUT_MS");
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

BOOST_AUTO_TEST_SUITE_END()

#include <sys/stat.h>
#include <set>

#include <boost/test/unit_test.hpp>

#include "service/service.h"
#include "store/database.h"
#include "store/migrations.h"
#include "store/products.h"
#include "test_support.h"
#include "util/errors.h"

using namespace stoflow;
using nlohmann::json;
using stoflow::testing::TempDir;

BOOST_AUTO_TEST_SUITE(store_suite)

BOOST_AUTO_TEST_CASE(database_is_created_private_durable_and_migrated) {
  TempDir dir;
  auto path = dir / "data" / "stoflow.db";
  {
    store::Database db(path);
    store::migrate(db);
    BOOST_TEST(store::schema_version(db) == store::latest_schema_version());
    auto mode = db.query("PRAGMA journal_mode");
    mode.step();
    BOOST_TEST(mode.text(0) == "wal");
    auto sync = db.query("PRAGMA synchronous");
    sync.step();
    BOOST_TEST(sync.int64(0) == 2);  // FULL
    auto tables = db.query(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN"
        " ('plugin_queue', 'plugin_tasks', 'products', 'listings', 'blobs', 'task_attempts')");
    tables.step();
    BOOST_TEST(tables.int64(0) == 6);
  }
  struct stat info {};
  BOOST_REQUIRE(stat(path.c_str(), &info) == 0);
  BOOST_TEST((info.st_mode & 0777) == 0600);

  // Reopening applies nothing twice.
  store::Database again(path);
  store::migrate(again);
  auto count = again.query("SELECT COUNT(*) FROM schema_migrations");
  count.step();
  BOOST_TEST(count.int64(0) == store::latest_schema_version());
}

BOOST_AUTO_TEST_CASE(seed_columns_of_both_tables_exist) {
  TempDir dir;
  store::Database db(dir / "s.db");
  store::migrate(db);
  auto columns = [&](const char* table) {
    std::set<std::string> names;
    auto q = db.query(std::string("SELECT name FROM pragma_table_info('") + table + "')");
    while (q.step()) names.insert(q.text(0));
    return names;
  };
  auto queue = columns("plugin_queue");
  for (const char* c :
       {"id", "platform", "operation", "product_id", "status", "current_step", "accumulated_data",
        "context_data", "error_message", "retry_count", "created_at", "updated_at"}) {
    BOOST_TEST(queue.contains(c), "plugin_queue." << c);
  }
  auto tasks = columns("plugin_tasks");
  for (const char* c :
       {"id", "queue_id", "task_type", "platform", "http_method", "path", "payload", "status",
        "result", "error_message", "retry_count", "max_retries", "created_at", "completed_at"}) {
    BOOST_TEST(tasks.contains(c), "plugin_tasks." << c);
  }
}

BOOST_AUTO_TEST_CASE(a_newer_schema_is_refused_not_damaged) {
  TempDir dir;
  store::Database db(dir / "s.db");
  store::migrate(db);
  db.exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 'x')");
  BOOST_CHECK_THROW(store::migrate(db), store::DatabaseError);
}

BOOST_AUTO_TEST_CASE(transaction_rolls_back_unless_committed) {
  TempDir dir;
  store::Database db(dir / "s.db");
  db.exec_script("CREATE TABLE t (v INTEGER)");
  try {
    store::Transaction tx(db);
    db.exec("INSERT INTO t (v) VALUES (?)", 1);
    throw std::runtime_error("boom");
  } catch (const std::runtime_error&) {
  }
  {
    store::Transaction tx(db);
    db.exec("INSERT INTO t (v) VALUES (?)", 2);
    tx.commit();
  }
  auto q = db.query("SELECT GROUP_CONCAT(v) FROM t");
  q.step();
  BOOST_TEST(q.text(0) == "2");
}

BOOST_AUTO_TEST_CASE(values_are_bound_not_spliced) {
  TempDir dir;
  store::Database db(dir / "s.db");
  db.exec_script("CREATE TABLE t (v TEXT)");
  std::string hostile = "x'); DROP TABLE t; --";
  db.exec("INSERT INTO t (v) VALUES (?)", hostile);
  auto q = db.query("SELECT v FROM t");
  BOOST_REQUIRE(q.step());
  BOOST_TEST(q.text(0) == hostile);
}

BOOST_AUTO_TEST_CASE(legacy_writer_rows_get_a_fifo_position) {
  TempDir dir;
  store::Database db(dir / "s.db");
  store::migrate(db);
  db.exec(
      "INSERT INTO plugin_tasks (task_type, platform, http_method, path, payload, status)"
      " VALUES ('vinted_sync', 'vinted', 'GET', '/api/v2/users/1', '{}', 'pending')");
  db.exec(
      "INSERT INTO plugin_tasks (task_type, platform, http_method, path, payload, status)"
      " VALUES ('vinted_sync', 'vinted', 'GET', '/api/v2/users/2', '{}', 'pending')");
  auto q = db.query("SELECT position, created_at FROM plugin_tasks ORDER BY id");
  BOOST_REQUIRE(q.step());
  int64_t first = q.int64(0);
  BOOST_TEST(!q.text(1).empty());
  BOOST_REQUIRE(q.step());
  BOOST_TEST(q.int64(0) > first);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(product_import_suite)

struct Fixture {
  TempDir dir;
  service::Service service{service::Config::from_environment(dir / "s.db")};
};

BOOST_FIXTURE_TEST_CASE(imports_products_and_copies_photos, Fixture) {
  auto photo = testing::png_bytes(5000, 1);
  testing::write_file(dir / "in" / "a.png", photo);
  auto file = testing::write_product_file(
      dir / "in", json::array({testing::vinted_product("Coat", {"a.png"})}));
  auto ids = service.import_products_file(file);
  BOOST_REQUIRE(ids.size() == 1);
  std::filesystem::remove(dir / "in" / "a.png");  // the queue must not need the original

  auto product = service.products().get(ids[0]);
  BOOST_TEST(product.title == "Coat");
  BOOST_REQUIRE(product.images.size() == 1);
  BOOST_TEST(product.images[0].content_type == "image/png");
  BOOST_TEST(product.images[0].size == static_cast<int64_t>(photo.size()));
  BOOST_TEST(testing::read_file(service.blobs().path_for(product.images[0].sha256)) == photo);
  BOOST_TEST(product.platform_attributes("vinted")["catalog_id"] == 1839);
}

BOOST_FIXTURE_TEST_CASE(one_bad_product_means_nothing_is_imported, Fixture) {
  testing::write_file(dir / "in" / "a.png", testing::png_bytes(800, 2));
  json products = json::array({testing::vinted_product("Good", {"a.png"}),
                               testing::vinted_product("Bad", {"missing.png"})});
  auto file = testing::write_product_file(dir / "in", products);
  BOOST_CHECK_THROW(service.import_products_file(file), AppError);
  auto count = service.db().query("SELECT COUNT(*) FROM products");
  count.step();
  BOOST_TEST(count.int64(0) == 0);
  auto images = service.db().query("SELECT COUNT(*) FROM product_images");
  images.step();
  BOOST_TEST(images.int64(0) == 0);
}

BOOST_FIXTURE_TEST_CASE(invalid_fields_are_named, Fixture) {
  auto expect_error = [&](json product, const std::string& fragment) {
    try {
      service.import_products(json::array({product}), dir.path());
      BOOST_FAIL("accepted " << product.dump());
    } catch (const AppError& e) {
      BOOST_TEST(std::string(e.what()).find(fragment) != std::string::npos, e.what());
      BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(ErrorCode::kInvalidParams));
    }
  };
  json base = testing::vinted_product("Hat", {});
  json no_title = base;
  no_title.erase("title");
  expect_error(no_title, "\"title\"");
  json bad_price = base;
  bad_price["price_cents"] = "12.50";
  expect_error(bad_price, "\"price_cents\"");
  json bad_platform = base;
  bad_platform["vinted"] = 53;
  expect_error(bad_platform, "\"vinted\" must be an object");
  json bad_images = base;
  bad_images["images"] = "a.png";
  expect_error(bad_images, "\"images\"");
  BOOST_CHECK_THROW(service.import_products(json::object(), dir.path()), AppError);
}

BOOST_FIXTURE_TEST_CASE(the_sellers_own_fields_are_kept_and_shown_back, Fixture) {
  json product = testing::vinted_product("Scarf", {});
  product["sku"] = "SC-104";
  product["notes"] = json{{"shelf", 3}};
  product["id"] = 999;  // from an export: the store assigns its own
  product["created_at"] = "2020-01-01T00:00:00Z";
  int64_t id = service.import_products(json::array({product}), dir.path())[0];
  BOOST_TEST(id != 999);
  json shown = store::to_json(service.products().get(id));
  BOOST_TEST(shown["id"] == id);
  BOOST_TEST(shown["sku"] == "SC-104");
  BOOST_TEST(shown["notes"]["shelf"] == 3);
  BOOST_TEST(shown["created_at"] != "2020-01-01T00:00:00Z");
  BOOST_TEST(shown["vinted"]["brand_id"] == 53);
}

BOOST_FIXTURE_TEST_CASE(a_non_image_file_is_refused, Fixture) {
  testing::write_file(dir / "in" / "notes.txt", "these are not pixels");
  testing::write_file(dir / "in" / "empty.jpg", "");
  auto refuse = [&](const std::string& name, const std::string& why) {
    auto file = testing::write_product_file(dir / "in",
                                            json::array({testing::vinted_product("Bag", {name})}));
    try {
      service.import_products_file(file);
      BOOST_FAIL(name << " was imported as a photo");
    } catch (const AppError& e) {
      BOOST_TEST(std::string(e.what()).find(why) != std::string::npos, e.what());
    }
  };
  refuse("notes.txt", "not a JPEG, PNG or WebP");
  refuse("empty.jpg", "is empty");
  auto products = service.db().query("SELECT COUNT(*) FROM products");
  products.step();
  BOOST_TEST(products.int64(0) == 0);
}

BOOST_FIXTURE_TEST_CASE(a_photo_is_typed_by_its_bytes_then_by_its_name, Fixture) {
  std::string png = testing::png_bytes(300, 7);
  testing::write_file(dir / "in" / "really-a-png.jpg", png);
  testing::write_file(dir / "in" / "camera.JPEG", "raw bytes from an unusual encoder");
  auto file = testing::write_product_file(
      dir / "in",
      json::array({testing::vinted_product("Bag", {"really-a-png.jpg", "camera.JPEG"})}));
  auto product = service.products().get(service.import_products_file(file)[0]);
  BOOST_REQUIRE(product.images.size() == 2);
  BOOST_TEST(product.images[0].content_type == "image/png");
  BOOST_TEST(product.images[1].content_type == "image/jpeg");
  BOOST_TEST(product.images[1].size == 33);
}

BOOST_AUTO_TEST_SUITE_END()

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <set>
#include <thread>

#include <boost/test/unit_test.hpp>

#include "newest_migration.h"
#include "platform/files.h"
#include "service/service.h"
#include "store/database.h"
#include "store/lease_owner.h"
#include "store/migrations.h"
#include "store/products.h"
#include "test_support.h"
#include "util/errors.h"

using namespace stoflow;
using nlohmann::json;
using stoflow::testing::TempDir;
namespace fs = std::filesystem;

namespace {

int64_t count_rows(store::Database& db, const std::string& sql) {
  auto q = db.query(sql);
  q.step();
  return q.int64(0);
}

// Overwrites the start of the b-tree page of `object` with a header no SQLite accepts.
void damage_page_of(const fs::path& path, const std::string& object) {
  int64_t offset = 0;
  {
    store::Database db(path);
    auto q = db.query(
        "SELECT (rootpage - 1) * (SELECT page_size FROM pragma_page_size())"
        " FROM sqlite_master WHERE name = ?",
        object);
    BOOST_REQUIRE(q.step());
    offset = q.int64(0);
  }
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekp(offset);
  file.write("\x0d\xff\xff\xff\xff\xff\xff\xff", 8);
  BOOST_REQUIRE(file);
}

}  // namespace

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
#ifndef _WIN32  // Windows has no POSIX modes (platform/files.h, make_private_file)
  BOOST_TEST(platform::file_mode(path).value_or(0) == 0600u);
#endif

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
  BOOST_CHECK_THROW(store::migrate(db), store::DatabaseNewer);
  BOOST_TEST(count_rows(db, "SELECT COUNT(*) FROM schema_migrations") ==
             store::latest_schema_version() + 1);
}

// What random bytes in the page of schema_migrations can read as: none of it is a version.
BOOST_AUTO_TEST_CASE(schema_rows_no_host_writes_are_damage_not_a_version) {
  TempDir dir;
  store::Database db(dir / "s.db");
  store::migrate(db);
  BOOST_TEST(store::schema_version(db) == store::latest_schema_version());
  auto damaged = [&](const char* sql) {
    store::Transaction tx(db);  // undone after each case
    db.exec_script(sql);
    try {
      store::migrate(db);
      BOOST_ERROR(sql << ": accepted");
    } catch (const store::DatabaseDamaged& e) {
      BOOST_TEST(std::string(e.what()).rfind("the database is damaged: ", 0) == 0u, e.what());
      BOOST_TEST(e.data()["reason"] == "database_damaged");
      BOOST_TEST((e.code() == ErrorCode::kInternal));
    }
  };
  damaged("UPDATE schema_migrations SET name = 'garbled' WHERE version = 1");
  // 2 without 1, and tables that prove no version.
  damaged("DELETE FROM schema_migrations WHERE version = 1; CREATE TABLE stray (x)");
  damaged("INSERT INTO schema_migrations VALUES (-4, 'initial schema', 'x')");
  damaged("INSERT INTO schema_migrations VALUES (4294967296, 'future', 'x')");
  damaged("UPDATE schema_migrations SET name = x'00ff' WHERE version = 2");
  {
    // A gap on an intact file whose tables are exactly the newest schema: the rows come back.
    db.exec("DELETE FROM schema_migrations WHERE version < ?", store::latest_schema_version());
    BOOST_CHECK_THROW(store::recorded_schema_version(db.handle()), store::SchemaRowsMissing);
    store::migrate(db);
    BOOST_TEST(store::recorded_schema_version(db.handle()) == store::latest_schema_version());
  }
  // A newer host's rows past ours, without a gap below, are a version.
  store::Transaction tx(db);
  int future = store::latest_schema_version() + 1;
  db.exec("INSERT INTO schema_migrations VALUES (?, 'future', 'x')", future);
  BOOST_TEST(store::recorded_schema_version(db.handle()) == future);
}

// .dump salvages a damaged database without the rows of a damaged schema_migrations: the tables
// of version 2, exactly, are recognised and recorded; anything else is not guessed at.
BOOST_AUTO_TEST_CASE(lost_schema_rows_are_recorded_only_for_an_exact_schema) {
  TempDir dir;
  {
    store::Database db(dir / "s.db");
    store::migrate(db);
    db.exec("DELETE FROM schema_migrations");
    BOOST_TEST((store::version_of_unrecorded_schema(db.handle()) ==
                std::optional<int>(store::latest_schema_version())));
    store::migrate(db);
    BOOST_TEST(store::schema_version(db) == store::latest_schema_version());
    BOOST_TEST(count_rows(db, "SELECT COUNT(*) FROM schema_migrations") ==
               store::latest_schema_version());

    db.exec("DELETE FROM schema_migrations");
    // The tables of the version before the newest: migrated forward.
    db.exec_script(testing::kUndoNewestMigration);
    store::migrate(db);
    BOOST_TEST(store::schema_version(db) == store::latest_schema_version());
    BOOST_TEST(
        count_rows(
            db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'plugin_tasks_in_flight'") == 1);
  }
  store::Database other(dir / "other.db");
  other.exec_script("CREATE TABLE products (x)");
  BOOST_TEST(!store::version_of_unrecorded_schema(other.handle()).has_value());
  try {
    store::migrate(other);
    BOOST_ERROR("a foreign products table was accepted");
  } catch (const store::DatabaseError& e) {
    BOOST_TEST(std::string(e.what()).find("cannot apply migration 1") != std::string::npos,
               e.what());
  }
  BOOST_TEST(count_rows(other, "SELECT COUNT(*) FROM schema_migrations") == 0);
}

// SQLITE_CORRUPT from any statement, and SQLITE_NOTADB at open, are damage, said as such.
BOOST_AUTO_TEST_CASE(sqlite_damage_codes_become_database_damaged) {
  TempDir dir;
  auto path = dir / "s.db";
  {
    store::Database db(path);
    store::migrate(db);
    db.exec(
        "INSERT INTO products (title, price_cents, created_at, updated_at)"
        " VALUES ('a', 1, 'now', 'now')");
  }
  damage_page_of(path, "products");
  store::Database db(path);
  store::migrate(db);  // schema_migrations is intact
  try {
    count_rows(db, "SELECT COUNT(*) FROM products");
    BOOST_ERROR("a damaged page was read");
  } catch (const store::DatabaseDamaged& e) {
    BOOST_TEST(e.sqlite_code() == SQLITE_CORRUPT);
    BOOST_TEST(std::string(e.what()).find(path.string()) != std::string::npos);
  }
  auto damage = store::quick_check(db.handle());
  BOOST_REQUIRE(!damage.empty());
  BOOST_TEST(damage[0].find("***") == std::string::npos, damage[0]);

  stoflow::testing::write_file(dir / "text.db", std::string(8192, 'x'));
  try {
    store::Database text(dir / "text.db");
    BOOST_ERROR("a text file opened as a database");
  } catch (const store::DatabaseDamaged& e) {
    BOOST_TEST(e.sqlite_code() == SQLITE_NOTADB);
  }
}

BOOST_AUTO_TEST_CASE(dead_owners_files_are_swept_live_ones_and_strangers_kept) {
  TempDir dir;
  auto owners = dir / "owners";
  store::LeaseOwner live(owners);
  auto live_file = owners / (live.id() + ".lock");
  BOOST_REQUIRE(fs::exists(live_file));
  stoflow::testing::write_file(owners / "p999999-0123456789ab.lock", "");  // a killed host's
  stoflow::testing::write_file(owners / "notes.txt", "");
  stoflow::testing::write_file(owners / "Other.lock", "");
  BOOST_TEST(store::LeaseOwner::remove_dead(owners) == 1);
  BOOST_TEST(fs::exists(live_file));
  BOOST_TEST(!fs::exists(owners / "p999999-0123456789ab.lock"));
  BOOST_TEST(fs::exists(owners / "notes.txt"));
  BOOST_TEST(fs::exists(owners / "Other.lock"));
  BOOST_TEST(store::LeaseOwner::is_alive(owners, live.id()));
  BOOST_TEST(!store::LeaseOwner::is_alive(owners, "p999999-0123456789ab"));
  BOOST_TEST(store::LeaseOwner::remove_dead(dir / "none") == 0);
}

// Sweeps racing owners as they start: an owner, once constructed, holds the lock of the file its
// name leads to, whatever the sweeper did between its open() and its flock().
BOOST_AUTO_TEST_CASE(a_sweep_racing_new_owners_never_removes_a_live_one) {
  TempDir dir;
  auto owners = dir / "owners";
  std::atomic<bool> stop = false;
  std::atomic<int> swept = 0;
  std::vector<std::thread> sweepers;
  { store::LeaseOwner first(owners); }  // the directory exists before the sweepers start
  for (int i = 0; i < 2; ++i) {
    sweepers.emplace_back([&] {
      while (!stop) swept += store::LeaseOwner::remove_dead(owners);
    });
  }
  int lost = 0;
  for (int i = 0; i < 3000; ++i) {
    store::LeaseOwner owner(owners);
    auto path = owners / (owner.id() + ".lock");
    // Ours exactly when another open of the name cannot take the lock.
    int fd = platform::open_file(path, O_RDWR | O_CLOEXEC);
    bool held = fd >= 0 && !platform::try_lock(fd);
    if (fd >= 0) ::close(fd);
    if (!held) ++lost;
  }
  stop = true;
  for (auto& t : sweepers) t.join();
  BOOST_TEST(lost == 0);
  BOOST_TEST_MESSAGE("files swept while their owners started: " << swept.load());
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
  product["created_at"] = "2020-01-01T00:00:00Z";  // from an export: the store sets its own
  int64_t id = service.import_products(json::array({product}), dir.path())[0];
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

BOOST_FIXTURE_TEST_CASE(a_photo_is_typed_by_its_bytes_never_by_its_name, Fixture) {
  std::string png = testing::png_bytes(300, 7);
  testing::write_file(dir / "in" / "really-a-png.jpg", png);
  testing::write_file(dir / "in" / "camera.JPEG", "raw bytes from an unusual encoder");
  auto file = testing::write_product_file(
      dir / "in", json::array({testing::vinted_product("Bag", {"really-a-png.jpg"})}));
  auto product = service.products().get(service.import_products_file(file)[0]);
  BOOST_REQUIRE(product.images.size() == 1);
  BOOST_TEST(product.images[0].content_type == "image/png");
  // A name says nothing about what would be uploaded under the seller's
  // account: bytes that are no JPEG, PNG or WebP are refused, whatever the name.
  file = testing::write_product_file(
      dir / "in", json::array({testing::vinted_product("Bag", {"camera.JPEG"})}));
  try {
    service.import_products_file(file);
    BOOST_FAIL("camera.JPEG was imported by its name");
  } catch (const AppError& e) {
    std::string message = e.what();
    BOOST_TEST(message.find("camera.JPEG") != std::string::npos, message);
    BOOST_TEST(message.find("is not a JPEG, PNG or WebP image") != std::string::npos, message);
  }
  auto count = service.db().query("SELECT COUNT(*) FROM products");
  count.step();
  BOOST_TEST(count.int64(0) == 1);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(product_update_suite)

struct UpdateFixture {
  TempDir dir;
  service::Service service{service::Config::from_environment(dir / "s.db")};

  int64_t add(const std::string& title, const json& extra = json::object()) {
    json product = testing::vinted_product(title, {});
    product.update(extra);
    return service.import_products(json::array({product}), dir.path())[0];
  }
  int64_t count(const std::string& sql) {
    auto q = service.db().query(sql);
    q.step();
    return q.int64(0);
  }
};

BOOST_FIXTURE_TEST_CASE(only_the_given_fields_change, UpdateFixture) {
  int64_t id = add("Coat", {{"sku", "COAT-1"}, {"quantity", 2}});
  auto before = service.products().get(id);
  BOOST_TEST(before.quantity == 2);
  BOOST_TEST(before.sku.value_or("") == "COAT-1");
  store::ProductChanges changes;
  changes.price_cents = 4200;
  changes.quantity = 0;
  auto result = service.products().update(id, changes, std::nullopt, nullptr);
  BOOST_TEST(result.product.price_cents == 4200);
  BOOST_TEST(result.product.quantity == 0);
  BOOST_TEST(result.product.title == "Coat");
  BOOST_TEST(result.product.description == before.description);
  BOOST_TEST(result.product.sku.value_or("") == "COAT-1");
  BOOST_TEST(result.product.attributes == before.attributes);
  BOOST_TEST(result.product.updated_at >= before.updated_at);
  BOOST_TEST(result.listings_out_of_date.empty());
  json shown = store::to_json(result.product);
  BOOST_TEST(shown["quantity"] == 0);
  BOOST_TEST(shown["sku"] == "COAT-1");
}

BOOST_FIXTURE_TEST_CASE(a_published_listing_is_marked_out_of_date, UpdateFixture) {
  int64_t id = add("Coat");
  service.db().exec(
      "INSERT INTO listings (product_id, platform, status, created_at, updated_at, published_at)"
      " VALUES (?, 'vinted', 'published', 'x', 'x', 'x'), (?, 'ebay', 'failed', 'x', 'x', NULL)",
      id, id);
  auto result = service.products().update(id, store::parse_changes({{"title", "Coat, navy"}}),
                                          std::nullopt, nullptr);
  BOOST_REQUIRE(result.listings_out_of_date.size() == 1);
  BOOST_TEST(result.listings_out_of_date[0].platform == "vinted");
  BOOST_TEST(count("SELECT COUNT(*) FROM listings WHERE out_of_date = 1 AND platform = 'vinted'") ==
             1);
  BOOST_TEST(count("SELECT COUNT(*) FROM listings WHERE out_of_date = 1") == 1);
  json listed = service.invoke("listings.list", {{"product_id", id}}, {});
  BOOST_TEST(listed[0]["out_of_date"] == true);
  BOOST_TEST(listed[1]["out_of_date"] == false);
}

BOOST_FIXTURE_TEST_CASE(bad_changes_are_named_and_change_nothing, UpdateFixture) {
  int64_t id = add("Coat", {{"sku", "COAT-1"}});
  int64_t other = add("Hat", {{"sku", "HAT-1"}});
  auto refuse = [&](const json& fields, const std::string& why) {
    try {
      service.products().update(other, store::parse_changes(fields), std::nullopt, nullptr);
      BOOST_ERROR("accepted " + fields.dump());
    } catch (const AppError& e) {
      BOOST_TEST(std::string(e.what()).find(why) != std::string::npos, e.what());
    }
  };
  refuse({{"quantity", -1}}, "\"quantity\"");
  refuse({{"quantity", 10001}}, "\"quantity\"");
  refuse({{"price_cents", "12"}}, "\"price_cents\"");
  refuse({{"title", ""}}, "\"title\"");
  refuse({{"sku", ""}}, "\"sku\"");
  refuse({{"sku", std::string(101, 'x')}}, "\"sku\"");
  refuse({{"sku", "COAT-1"}}, "belongs to product " + std::to_string(id));
  refuse({{"colour", "red"}}, "\"colour\"");
  refuse({{"vinted", 3}}, "\"vinted\"");
  BOOST_CHECK_THROW(
      service.products().update(999, store::parse_changes({{"title", "x"}}), std::nullopt, nullptr),
      AppError);
  BOOST_TEST(service.products().get(other).sku.value_or("") == "HAT-1");
  BOOST_TEST(service.products().get(other).title == "Hat");
}

BOOST_FIXTURE_TEST_CASE(import_updates_by_id_and_by_sku, UpdateFixture) {
  int64_t by_id = add("Coat");
  int64_t by_sku = add("Hat", {{"sku", "HAT-1"}});
  json exported = store::to_json(service.products().get(by_id));
  exported["price_cents"] = 999;
  json hat = testing::vinted_product("Hat, red", {});
  hat["sku"] = "HAT-1";
  hat["quantity"] = 3;
  json scarf = testing::vinted_product("Scarf", {});
  scarf["sku"] = "SC-1";
  auto result = service.import_products_detailed(json::array({exported, hat, scarf}), dir.path());
  BOOST_TEST(result.ids.size() == 3u);
  BOOST_TEST((result.updated == std::vector<int64_t>{by_id, by_sku}));
  BOOST_REQUIRE(result.added.size() == 1u);
  BOOST_TEST(service.products().get(by_id).price_cents == 999);
  BOOST_TEST(service.products().get(by_sku).title == "Hat, red");
  BOOST_TEST(service.products().get(by_sku).quantity == 3);
  BOOST_TEST(service.products().get(result.added[0]).sku.value_or("") == "SC-1");
  BOOST_TEST(count("SELECT COUNT(*) FROM products") == 3);
}

BOOST_FIXTURE_TEST_CASE(an_import_with_a_bad_entry_changes_nothing, UpdateFixture) {
  int64_t id = add("Coat", {{"sku", "COAT-1"}});
  auto refuse = [&](const json& entries, const std::string& why) {
    try {
      service.import_products(entries, dir.path());
      BOOST_ERROR("accepted " + entries.dump());
    } catch (const AppError& e) {
      BOOST_TEST(std::string(e.what()).find(why) != std::string::npos, e.what());
    }
    BOOST_TEST(count("SELECT COUNT(*) FROM products") == 1);
    BOOST_TEST(service.products().get(id).title == "Coat");
  };
  json update = testing::vinted_product("Coat, changed", {});
  update["id"] = id;
  json unknown = testing::vinted_product("Ghost", {});
  unknown["id"] = 999;
  refuse(json::array({update, unknown}), "product #2 in the file: \"id\": product 999 does not");
  json a = testing::vinted_product("A", {});
  a["sku"] = "DUP";
  json b = testing::vinted_product("B", {});
  b["sku"] = "DUP";
  refuse(json::array({update, a, b}), "product #3 in the file: \"sku\" \"DUP\"");
  json negative = testing::vinted_product("N", {});
  negative["quantity"] = -1;
  refuse(json::array({update, negative}), "product #2 in the file: \"quantity\"");
  json other = testing::vinted_product("Other", {});
  other["id"] = id;
  refuse(json::array({update, other}), "updated by an earlier entry");
  json bad_id = testing::vinted_product("X", {});
  bad_id["id"] = "1";
  refuse(json::array({bad_id}), "\"id\" must be");
}

BOOST_AUTO_TEST_CASE(migration_7_keeps_the_rows_of_version_6) {
  TempDir dir;
  auto path = dir / "old.db";
  {
    store::Database db(path);
    store::migrate(db);
    db.exec_script(testing::kUndoNewestMigration);
    BOOST_TEST(store::schema_version(db) == testing::kNewestSchema - 1);
    db.exec(
        "INSERT INTO products (title, price_cents, created_at, updated_at)"
        " VALUES ('Old coat', 1500, 'x', 'x')");
    // Imports before version 7 kept sku and quantity among the seller's own fields.
    db.exec(
        "INSERT INTO products (title, price_cents, attributes, created_at, updated_at) VALUES"
        " ('Hat', 1, '{\"sku\": \"H-1\", \"quantity\": 3, \"notes\": 1}', 'x', 'x'),"
        " ('Hat again', 1, '{\"sku\": \"H-1\"}', 'x', 'x'),"
        " ('Odd', 1, '{\"sku\": 12, \"quantity\": -2}', 'x', 'x')");
    db.exec(
        "INSERT INTO listings (product_id, platform, status, created_at, updated_at)"
        " VALUES (1, 'vinted', 'published', 'x', 'x')");
  }
  store::Database db(path);
  store::migrate(db);
  BOOST_TEST(store::schema_version(db) == 7);
  auto q = db.query("SELECT title, price_cents, quantity, sku IS NULL FROM products");
  BOOST_REQUIRE(q.step());
  BOOST_TEST(q.text(0) == "Old coat");
  BOOST_TEST(q.int64(1) == 1500);
  BOOST_TEST(q.int64(2) == 1);
  BOOST_TEST(q.int64(3) == 1);
  auto moved = db.query("SELECT sku, quantity, attributes FROM products WHERE id = 2");
  BOOST_REQUIRE(moved.step());
  BOOST_TEST(moved.text(0) == "H-1");
  BOOST_TEST(moved.int64(1) == 3);
  BOOST_TEST(json::parse(moved.text(2)) == json({{"notes", 1}}));
  auto kept = db.query("SELECT sku IS NULL, quantity, attributes FROM products WHERE id > 2");
  BOOST_REQUIRE(kept.step());
  BOOST_TEST(kept.int64(0) == 1);  // the oldest product has H-1
  BOOST_TEST(json::parse(kept.text(2))["sku"] == "H-1");
  BOOST_REQUIRE(kept.step());
  BOOST_TEST(kept.int64(1) == 1);
  BOOST_TEST(json::parse(kept.text(2))["sku"] == 12);
  auto l = db.query("SELECT status, out_of_date FROM listings");
  BOOST_REQUIRE(l.step());
  BOOST_TEST(l.text(0) == "published");
  BOOST_TEST(l.int64(1) == 0);
  // The sku is unique when given; many products may have none.
  db.exec(
      "INSERT INTO products (title, price_cents, created_at, updated_at, sku)"
      " VALUES ('A', 1, 'x', 'x', 'S'), ('B', 1, 'x', 'x', NULL), ('C', 1, 'x', 'x', NULL)");
  BOOST_CHECK_THROW(db.exec("INSERT INTO products (title, price_cents, created_at, updated_at, sku)"
                            " VALUES ('D', 1, 'x', 'x', 'S')"),
                    std::exception);
  BOOST_CHECK_THROW(db.exec("UPDATE products SET quantity = -1 WHERE id = 1"), std::exception);
}

BOOST_AUTO_TEST_SUITE_END()

#include <boost/test/unit_test.hpp>

#include "store/migrations.h"
#include "test_support.h"
#include "util/crypto.h"
#include "util/errors.h"
#include "workflow/engine.h"
#include "workflow/vinted_publish.h"

using namespace stoflow;
using nlohmann::json;
using stoflow::testing::TempDir;

namespace {

// A second platform, added the way eBay or Etsy will be: flows registered in
// the registry, no engine change. Publish is two steps (create, then
// confirm); delete is one.
class TestShopFlow : public workflow::Flow {
 public:
  std::string platform() const override { return "testshop"; }
  std::vector<std::string> missing_fields(const store::Product& p) const override {
    return p.title.empty() ? std::vector<std::string>{"title"} : std::vector<std::string>{};
  }
};

class TestShopPublish final : public TestShopFlow {
 public:
  std::string operation() const override { return workflow::kPublishProduct; }
  workflow::ListingRule listing_rule() const override { return workflow::publish_rule(); }
  std::optional<workflow::StepSpec> next_step(const workflow::FlowState& s) const override {
    if (!s.accumulated.contains("item_id")) {
      return workflow::StepSpec{
          "create", "POST", "/items", workflow::BodyKind::kJson, {{"title", s.product.title}}};
    }
    if (!s.accumulated.contains("url")) {
      return workflow::StepSpec{"confirm", "POST",
                                "/items/" + s.accumulated["item_id"].dump() + "/confirm",
                                workflow::BodyKind::kNone, json::object()};
    }
    return std::nullopt;
  }
  json accumulate(const std::string& step, const json& r, json acc) const override {
    if (step == "create") {
      if (!r.contains("id")) throw workflow::ResponseError("no id");
      acc["item_id"] = r["id"];
    } else {
      acc["url"] = r.value("url", "");
    }
    return acc;
  }
  int total_steps(const workflow::FlowState&) const override { return 2; }
  std::optional<workflow::ListingOutcome> outcome(const workflow::FlowState& s) const override {
    return workflow::ListingOutcome{s.accumulated["item_id"].dump(), s.accumulated["url"]};
  }
};

// Reads the listing it acts on from the state the engine hands it.
class TestShopDelete final : public TestShopFlow {
 public:
  std::string operation() const override { return workflow::kDeleteListing; }
  workflow::ListingRule listing_rule() const override { return workflow::delete_rule(); }
  std::optional<workflow::StepSpec> next_step(const workflow::FlowState& s) const override {
    if (s.accumulated.contains("deleted")) return std::nullopt;
    return workflow::StepSpec{"delete", "DELETE", "/items/" + s.listing.remote_id,
                              workflow::BodyKind::kNone, json::object()};
  }
  json accumulate(const std::string&, const json&, json acc) const override {
    acc["deleted"] = true;
    return acc;
  }
  int total_steps(const workflow::FlowState&) const override { return 1; }
  std::optional<workflow::ListingOutcome> outcome(const workflow::FlowState&) const override {
    return std::nullopt;
  }
};

struct EngineFixture {
  TempDir dir;
  store::Database db{dir / "s.db"};
  store::BlobStore blobs{dir / "blobs"};
  store::ProductStore products{db, blobs};
  workflow::Registry registry;
  std::unique_ptr<workflow::Engine> engine;

  EngineFixture() {
    store::migrate(db);
    registry.add(std::make_unique<workflow::VintedPublish>());
    registry.add(std::make_unique<TestShopPublish>());
    registry.add(std::make_unique<TestShopDelete>());
    make_engine({});
  }

  void make_engine(workflow::EngineOptions options) {
    engine = std::make_unique<workflow::Engine>(db, products, registry, options);
  }

  int64_t product(const std::string& title, int photos) {
    std::vector<std::string> names;
    for (int i = 0; i < photos; ++i) {
      std::string name = title + "-" + std::to_string(i) + ".png";
      testing::write_file(dir / name, testing::png_bytes(2000 + i, static_cast<unsigned>(i + 1)));
      names.push_back(name);
    }
    return products.import(json::array({testing::vinted_product(title, names)}), dir.path(),
                           nullptr)[0];
  }

  json report(const std::string& owner, int64_t task_id, bool success, json result = nullptr,
              json extra = json::object()) {
    json params = {{"task_id", task_id}, {"success", success}};
    if (!result.is_null()) params["result"] = result;
    params.update(extra);
    workflow::TaskReport r;
    r.task_id = task_id;
    r.success = success;
    r.result = result;
    if (extra.contains("http_status")) r.http_status = extra["http_status"].get<int>();
    if (extra.contains("error_message"))
      r.error_message = extra["error_message"].get<std::string>();
    if (extra.contains("error_kind")) r.error_kind = extra["error_kind"].get<std::string>();
    if (extra.contains("retry_after")) r.retry_after_seconds = extra["retry_after"].get<double>();
    if (extra.contains("attempt")) r.attempt = extra["attempt"].get<int>();
    r.fingerprint = sha256_hex(params.dump());
    return engine->report(owner, r);
  }

  workflow::EnqueueReceipt publish(const std::string& platform, int64_t product_id) {
    return engine->enqueue(platform, workflow::kPublishProduct, product_id);
  }

  int64_t count(const std::string& sql) {
    auto q = db.query(sql);
    q.step();
    return q.int64(0);
  }

  // Runs the vinted publish of the leased task stream to completion.
  json run_to_end(const std::string& owner) {
    json last;
    for (int guard = 0; guard < 50; ++guard) {
      json tasks = engine->lease(owner, 10);
      if (tasks.empty()) break;
      for (const auto& t : tasks) {
        std::string step = t["step"];
        json result =
            step.rfind("upload_photo_", 0) == 0 ? json{{"id", 100 + t["id"].get<int>()}}
            : step == "create_draft"            ? json{{"draft", {{"id", 42}}}}
            : step == "complete_draft"
                ? json{{"item", {{"id", 4242}, {"url", "https://www.vinted.fr/items/4242"}}}}
            : step == "create" ? json{{"id", 9}}
                               : json{{"url", "https://shop/9"}};
        last = report(owner, t["id"], true, result);
      }
    }
    return last;
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(engine_suite, EngineFixture)

BOOST_AUTO_TEST_CASE(publish_creates_listing_queue_and_only_the_first_step) {
  int64_t id = product("jeans", 3);
  auto receipt = publish("vinted", id);
  BOOST_TEST(receipt.product_id == id);
  BOOST_TEST(receipt.message.find("queue #" + std::to_string(receipt.queue_id)) !=
             std::string::npos);
  BOOST_TEST(count("SELECT COUNT(*) FROM plugin_tasks") == 1);
  BOOST_TEST(count("SELECT COUNT(*) FROM listings WHERE status = 'pending'") == 1);
  json queue = engine->queue(receipt.queue_id, true);
  BOOST_TEST(queue["status"] == "queued");
  BOOST_TEST(queue["current_step"] == "upload_photo_1");
  BOOST_TEST(queue["progress"]["total"] == 5);
  BOOST_TEST(queue["tasks"][0]["status"] == "pending");
}

BOOST_AUTO_TEST_CASE(an_incomplete_product_is_refused_and_nothing_is_created) {
  int64_t id = product("bare", 0);
  try {
    publish("vinted", id);
    BOOST_FAIL("published a product without photos");
  } catch (const AppError& e) {
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(ErrorCode::kIncomplete));
    BOOST_TEST(e.data()["missing_fields"] == json({"images"}));
  }
  BOOST_TEST(count("SELECT COUNT(*) FROM plugin_queue") == 0);
  BOOST_TEST(count("SELECT COUNT(*) FROM listings") == 0);
  BOOST_CHECK_THROW(publish("vinted", 999), AppError);
  BOOST_CHECK_THROW(publish("nowhere", id), AppError);
}

BOOST_AUTO_TEST_CASE(a_full_publish_ends_with_a_published_listing) {
  int64_t id = product("jeans", 2);
  auto receipt = publish("vinted", id);
  json last = run_to_end("a");
  BOOST_TEST(last["queue_status"] == "completed");
  BOOST_TEST(last["next_task_id"].is_null());
  json queue = engine->queue(receipt.queue_id, true);
  BOOST_TEST(queue["status"] == "completed");
  BOOST_TEST(queue["tasks"].size() == 4);
  BOOST_TEST(queue["accumulated_data"]["photo_ids"].size() == 2);
  BOOST_TEST(queue["progress"]["done"] == 4);
  json listing = engine->listings({.product_id = id})[0];
  BOOST_TEST(listing["status"] == "published");
  BOOST_TEST(listing["remote_id"] == "4242");
  BOOST_TEST(listing["url"] == "https://www.vinted.fr/items/4242");
  BOOST_CHECK_THROW(publish("vinted", id), AppError);  // already published
}

BOOST_AUTO_TEST_CASE(a_failed_delete_leaves_the_listing_published) {
  int64_t id = product("lamp", 0);
  publish("testshop", id);
  run_to_end("a");
  BOOST_TEST(engine->listings({.product_id = id})[0]["status"] == "published");

  auto receipt = engine->enqueue("testshop", workflow::kDeleteListing, id);
  BOOST_TEST(engine->listings({.product_id = id})[0]["status"] ==
             "published");  // still online while it runs
  for (int attempt = 1; attempt <= 3; ++attempt) {
    json tasks = engine->lease("a", 10);
    BOOST_REQUIRE(tasks.size() == 1);
    BOOST_TEST(tasks[0]["operation"] == "delete_listing");
    BOOST_TEST(tasks[0]["path"] == "/items/9");  // the flow saw the listing's remote id
    report("a", tasks[0]["id"], false, nullptr, {{"error_message", "HTTP 500 from the shop"}});
  }
  json queue = engine->queue(receipt.queue_id, false);
  BOOST_TEST(queue["status"] == "failed");
  json listing = engine->listings({.product_id = id})[0];
  BOOST_TEST(listing["status"] == "published");
  BOOST_TEST(listing["remote_id"] == "9");
  BOOST_TEST(listing["error_message"] == "HTTP 500 from the shop");

  // The listing is still published, so the seller may try again; this time it goes.
  engine->retry_queue(receipt.queue_id);
  run_to_end("a");
  listing = engine->listings({.product_id = id})[0];
  BOOST_TEST(listing["status"] == "deleted");
  BOOST_TEST(listing["remote_id"] == "9");  // kept: what was deleted stays known
  BOOST_TEST(listing["error_message"].is_null());
  BOOST_CHECK_THROW(engine->enqueue("testshop", workflow::kDeleteListing, id), AppError);
  BOOST_CHECK_THROW(publish("testshop", id), AppError);  // a deleted listing is relisted
}

BOOST_AUTO_TEST_CASE(an_operation_starts_only_from_a_listing_state_its_flow_names) {
  int64_t id = product("vase", 0);
  try {
    engine->enqueue("testshop", workflow::kDeleteListing, id);
    BOOST_FAIL("deleted a listing that does not exist");
  } catch (const AppError& e) {
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(ErrorCode::kWrongState));
    BOOST_TEST(std::string(e.what()).find("not listed") != std::string::npos);
  }
  try {
    engine->enqueue("testshop", "explode_listing", id);
    BOOST_FAIL("queued an unknown operation");
  } catch (const AppError& e) {
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(ErrorCode::kInvalidParams));
    BOOST_TEST(std::string(e.what()).find("delete_listing, publish_product") != std::string::npos);
  }
  BOOST_TEST(count("SELECT COUNT(*) FROM plugin_queue") == 0);
  BOOST_TEST(count("SELECT COUNT(*) FROM listings") == 0);
}

// The dispatch path must cost the same with 100 or 100 000 operations queued
// or finished. SQLite counts the work its statements do (VM steps), the rows
// read by full scans and the sorts: deterministic figures, unlike time.
BOOST_AUTO_TEST_CASE(dispatch_costs_the_same_whatever_the_size_of_the_tables) {
  db.exec("PRAGMA synchronous=OFF");  // only to fill the tables quickly
  int next = 0;
  auto queue_more = [&](int count) {
    for (int i = 0; i < count; ++i, ++next)
      publish("testshop", product("item" + std::to_string(next), 0));
  };
  struct Cost {
    double vm_steps_per_step = 0;
    int64_t full_scan_steps = 0;
    int64_t sorts = 0;
  };
  auto measure = [&] {
    auto before = db.scan_counters();
    int steps = 0;
    for (int round = 0; round < 40; ++round) {
      for (const auto& task : engine->lease("a", 10)) {
        report("a", task["id"], round % 5 != 4, json{{"id", 9}, {"url", "https://shop/9"}},
               {{"error_message", "flaky"}});
        ++steps;
      }
      engine->ready_platforms();
      engine->next_deadline_ms();
      engine->expire_leases();
      engine->foreign_owners("a");
    }
    auto after = db.scan_counters();
    BOOST_REQUIRE(steps > 0);
    return Cost{static_cast<double>(after.vm_steps - before.vm_steps) / steps,
                after.full_scan_steps - before.full_scan_steps, after.sorts - before.sorts};
  };

  queue_more(60);
  Cost small = measure();
  queue_more(1500);
  run_to_end("warm");  // 1500 operations finished, their steps and attempts kept
  queue_more(1500);
  Cost large = measure();

  BOOST_TEST_MESSAGE("VM steps per step: " << small.vm_steps_per_step << " with 60 queued, "
                                           << large.vm_steps_per_step << " with 1500 queued "
                                           << "and 1500 finished");
  BOOST_TEST(small.full_scan_steps == 0);
  BOOST_TEST(large.full_scan_steps == 0);
  BOOST_TEST(small.sorts == 0);
  BOOST_TEST(large.sorts == 0);
  BOOST_TEST(large.vm_steps_per_step <= small.vm_steps_per_step * 1.2);
}

BOOST_AUTO_TEST_CASE(a_page_of_queues_is_one_query_and_pages_follow_each_other) {
  for (int i = 0; i < 30; ++i) publish("vinted", product("q" + std::to_string(i), 2));
  auto before = db.scan_counters();
  json page = engine->queues({.limit = 20});
  BOOST_TEST(db.scan_counters().statements - before.statements == 1);
  BOOST_REQUIRE(page.size() == 20u);
  BOOST_TEST(page[0]["progress"]["total"] == 4);  // two photos, draft, completion
  BOOST_TEST(page[0]["product_title"] == "q29");
  json rest = engine->queues({.before_id = page.back()["id"].get<int64_t>(), .limit = 20});
  BOOST_REQUIRE(rest.size() == 10u);
  BOOST_TEST(rest[0]["id"].get<int64_t>() == page.back()["id"].get<int64_t>() - 1);

  // A queue written before its total was stored: the flow counts it for the view.
  int64_t legacy = page[0]["id"];
  db.exec("UPDATE plugin_queue SET total_steps = NULL WHERE id = ?", legacy);
  BOOST_TEST(engine->queue(legacy, false)["progress"]["total"] == 4);
  BOOST_CHECK_THROW(engine->queues({.status = "exploded"}), AppError);
}

BOOST_AUTO_TEST_CASE(three_failures_fail_the_step_queue_and_listing) {
  int64_t id = product("coat", 1);
  auto receipt = publish("vinted", id);
  for (int attempt = 1; attempt <= 3; ++attempt) {
    json tasks = engine->lease("a", 10);
    BOOST_REQUIRE(tasks.size() == 1);
    BOOST_TEST(tasks[0]["id"] == receipt.task_id);  // the same step again
    BOOST_TEST(tasks[0]["attempt"] == attempt);
    json r = report("a", receipt.task_id, false, nullptr,
                    {{"error_message", "Network timeout " + std::to_string(attempt)}});
    BOOST_TEST(r["status"] == (attempt < 3 ? "pending" : "failed"));
  }
  BOOST_TEST(engine->lease("a", 10).empty());
  json queue = engine->queue(receipt.queue_id, true);
  BOOST_TEST(queue["status"] == "failed");
  BOOST_TEST(queue["error_message"] == "Network timeout 3");
  BOOST_TEST(queue["tasks"][0]["retry_count"] == 3);
  BOOST_TEST(engine->listings({.product_id = id})[0]["status"] == "failed");
}

BOOST_AUTO_TEST_CASE(strict_fifo_per_platform_while_other_platforms_go_on) {
  int64_t first = product("first", 1);
  int64_t second = product("second", 1);
  auto q1 = publish("vinted", first);
  auto q2 = publish("vinted", second);
  auto shop = publish("testshop", second);

  json tasks = engine->lease("a", 10);
  BOOST_REQUIRE(tasks.size() == 2);  // one per platform
  std::map<std::string, json> by_platform;
  for (const auto& t : tasks) by_platform[t["platform"]] = t;
  BOOST_TEST(by_platform["vinted"]["queue_id"] == q1.queue_id);
  BOOST_TEST(by_platform["testshop"]["queue_id"] == shop.queue_id);

  // Another connection gets nothing while both platforms have a step in flight.
  BOOST_TEST(engine->lease("b", 10).empty());

  // A failed attempt of q1 holds q2 back: strict FIFO.
  report("a", by_platform["vinted"]["id"], false, nullptr, {{"error_message", "boom"}});
  report("a", by_platform["testshop"]["id"], true, {{"id", 9}});
  json next = engine->lease("b", 10);
  std::map<std::string, json> again;
  for (const auto& t : next) again[t["platform"]] = t;
  BOOST_TEST(again["vinted"]["queue_id"] == q1.queue_id);
  BOOST_TEST(again["testshop"]["step"] == "confirm");
  report("b", again["vinted"]["id"], true, {{"id", 1}});
  json after = engine->lease("b", 10);
  BOOST_REQUIRE(after.size() == 2);
  for (const auto& t : after) {
    if (t["platform"] == "vinted") BOOST_TEST(t["queue_id"] == q1.queue_id);  // q1's draft step
  }
  (void)q2;
}

BOOST_AUTO_TEST_CASE(a_delayed_retry_blocks_the_platform_until_due) {
  make_engine({.lease_ms = 600000, .retry_delay_ms = 60000});
  int64_t first = product("first", 1);
  int64_t second = product("second", 1);
  publish("vinted", first);
  publish("vinted", second);
  json t = engine->lease("a", 10);
  report("a", t[0]["id"], false, nullptr, {{"error_message", "503"}});
  BOOST_TEST(engine->lease("a", 10).empty());
  BOOST_TEST(engine->ready_platforms().empty());
  BOOST_REQUIRE(engine->next_deadline_ms().has_value());
}

BOOST_AUTO_TEST_CASE(a_repeated_result_is_applied_once_and_answered_the_same) {
  int64_t id = product("shoes", 2);
  publish("vinted", id);
  json t = engine->lease("a", 10)[0];
  json first = report("a", t["id"], true, {{"id", 11}});
  json second = report("a", t["id"], true, {{"id", 11}});
  BOOST_TEST(first == second);
  BOOST_TEST(count("SELECT COUNT(*) FROM plugin_tasks") == 2);
  json queue = engine->queue(t["queue_id"], false);
  BOOST_TEST(queue["accumulated_data"]["photo_ids"] == json({11}));

  // A different result for a finished step is refused, with the reason.
  try {
    report("a", t["id"], true, {{"id", 12}});
    BOOST_FAIL("a conflicting result was accepted");
  } catch (const AppError& e) {
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(ErrorCode::kNotInFlight));
  }
}

BOOST_AUTO_TEST_CASE(results_are_only_taken_from_the_lease_holder) {
  int64_t id = product("bag", 1);
  auto receipt = publish("vinted", id);
  // Not handed out yet.
  BOOST_CHECK_THROW(report("a", receipt.task_id, true, {{"id", 1}}), AppError);
  engine->lease("a", 10);
  BOOST_CHECK_THROW(report("b", receipt.task_id, true, {{"id", 1}}), AppError);
  BOOST_CHECK_THROW(report("a", 99999, true, {{"id", 1}}), AppError);
  BOOST_TEST(report("a", receipt.task_id, true, {{"id", 1}})["status"] == "success");
}

BOOST_AUTO_TEST_CASE(an_expired_lease_counts_as_an_attempt_and_ends_failed) {
  make_engine({.lease_ms = 0});
  int64_t id = product("crash", 1);
  auto receipt = publish("vinted", id);
  for (int i = 0; i < 3; ++i) {
    json tasks = engine->lease("a", 10);
    BOOST_REQUIRE(tasks.size() == 1);
    BOOST_TEST(engine->expire_leases() == 1);
  }
  BOOST_TEST(engine->lease("a", 10).empty());
  json queue = engine->queue(receipt.queue_id, true);
  BOOST_TEST(queue["status"] == "failed");
  BOOST_TEST(queue["error_message"].get<std::string>().find("lease lost") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_result_after_expiry_is_refused) {
  make_engine({.lease_ms = 0});
  int64_t id = product("late", 1);
  auto receipt = publish("vinted", id);
  engine->lease("a", 10);
  try {
    report("a", receipt.task_id, true, {{"id", 5}});
    BOOST_FAIL("a late result was applied");
  } catch (const AppError& e) {
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(ErrorCode::kNotInFlight));
  }
  BOOST_TEST(engine->queue(receipt.queue_id, true)["tasks"][0]["retry_count"] == 1);
}

BOOST_AUTO_TEST_CASE(a_closed_connection_releases_its_leases) {
  int64_t id = product("hat", 1);
  auto receipt = publish("vinted", id);
  engine->lease("gone", 10);
  BOOST_TEST(engine->release_owner("gone", "connection closed") == 1);
  json again = engine->lease("next", 10);
  BOOST_REQUIRE(again.size() == 1);
  BOOST_TEST(again[0]["id"] == receipt.task_id);
  BOOST_TEST(again[0]["attempt"] == 2);
}

BOOST_AUTO_TEST_CASE(dead_owners_are_recovered_live_ones_kept) {
  int64_t a = product("a", 1);
  int64_t b = product("b", 1);
  publish("vinted", a);
  publish("testshop", b);
  engine->lease("dead", 1);
  engine->lease("alive", 1);
  int released =
      engine->recover_dead_owners("me", [](const std::string& o) { return o != "dead"; });
  BOOST_TEST(released == 1);
  BOOST_TEST(count("SELECT COUNT(*) FROM plugin_tasks WHERE lease_owner = 'alive'") == 1);
}

BOOST_AUTO_TEST_CASE(session_expiry_pauses_without_using_attempts) {
  int64_t id = product("dress", 1);
  auto receipt = publish("vinted", id);
  json t = engine->lease("a", 10)[0];
  json r = report("a", t["id"], false, {{"code", 100}}, {{"http_status", 401}});
  BOOST_TEST(r["queue_status"] == "paused");
  BOOST_TEST(engine->lease("a", 10).empty());
  json queue = engine->queue(receipt.queue_id, true);
  BOOST_TEST(queue["status"] == "paused");
  BOOST_TEST(queue["paused_reason"].get<std::string>().find("log in") != std::string::npos);
  BOOST_TEST(queue["tasks"][0]["retry_count"] == 0);

  engine->resume_queue(receipt.queue_id);
  json again = engine->lease("a", 10);
  BOOST_REQUIRE(again.size() == 1);
  BOOST_TEST(again[0]["attempt"] == 1);
  report("a", again[0]["id"], false, nullptr,
         {{"error_kind", "challenge"}, {"error_message", "html"}});
  BOOST_TEST(engine->queue(receipt.queue_id, false)["status"] == "paused");
}

BOOST_AUTO_TEST_CASE(rate_limit_delays_without_using_attempts) {
  int64_t id = product("skirt", 1);
  auto receipt = publish("vinted", id);
  json t = engine->lease("a", 10)[0];
  json r = report("a", t["id"], false, nullptr,
                  {{"error_kind", "rate_limited"}, {"retry_after", 30}, {"http_status", 429}});
  BOOST_TEST(r["retry_in_ms"] == 30000);
  BOOST_TEST(engine->lease("a", 10).empty());
  BOOST_TEST(engine->queue(receipt.queue_id, true)["tasks"][0]["retry_count"] == 0);
}

BOOST_AUTO_TEST_CASE(a_refused_request_fails_at_once) {
  int64_t id = product("belt", 1);
  auto receipt = publish("vinted", id);
  json t = engine->lease("a", 10)[0];
  json r = report("a", t["id"], false, nullptr,
                  {{"error_kind", "refused"}, {"error_message", "path leaves origin"}});
  BOOST_TEST(r["queue_status"] == "failed");
}

BOOST_AUTO_TEST_CASE(an_unreadable_success_counts_as_a_failed_attempt) {
  int64_t id = product("scarf", 1);
  publish("vinted", id);
  json t = engine->lease("a", 10)[0];
  json r = report("a", t["id"], true, {{"unexpected", true}});
  BOOST_TEST(r["status"] == "pending");
  BOOST_TEST(r["message"].get<std::string>().find("no photo id") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(cancel_then_retry_resumes_where_it_stopped) {
  int64_t id = product("boots", 2);
  auto receipt = publish("vinted", id);
  json t = engine->lease("a", 10)[0];
  report("a", t["id"], true, {{"id", 70}});
  engine->lease("a", 10);  // photo 2 in flight
  json cancelled = engine->cancel_queue(receipt.queue_id);
  BOOST_TEST(cancelled["status"] == "cancelled");
  BOOST_TEST(engine->lease("a", 10).empty());
  BOOST_CHECK_THROW(engine->cancel_queue(receipt.queue_id), AppError);
  BOOST_TEST(engine->listings({.product_id = id})[0]["status"] == "failed");

  json retried = engine->retry_queue(receipt.queue_id);
  BOOST_TEST(retried["status"] == "queued");
  BOOST_TEST(retried["retry_count"] == 1);
  json next = engine->lease("a", 10);
  BOOST_REQUIRE(next.size() == 1);
  BOOST_TEST(next[0]["step"] == "upload_photo_2");  // photo 1 is not uploaded again
  BOOST_CHECK_THROW(engine->retry_queue(receipt.queue_id), AppError);  // it is running
  BOOST_TEST(engine->listings({.product_id = id})[0]["status"] == "pending");
}

BOOST_AUTO_TEST_CASE(legacy_tasks_run_without_step_generation) {
  int64_t legacy = engine->enqueue_legacy({"vinted", "sync_wardrobe", "GET", "/api/v2/wardrobe",
                                           workflow::BodyKind::kNone, json::object()});
  int64_t id = product("later", 1);
  publish("vinted", id);
  json tasks = engine->lease("a", 10);
  BOOST_REQUIRE(tasks.size() == 1);
  BOOST_TEST(tasks[0]["id"] == legacy);  // older, so first
  BOOST_TEST(tasks[0]["queue_id"].is_null());
  BOOST_TEST(tasks[0]["task_type"] == "sync_wardrobe");
  json r = report("a", legacy, true, {{"items", json::array()}});
  BOOST_TEST(r["next_task_id"].is_null());
  BOOST_TEST(r["status"] == "success");
  BOOST_TEST(count("SELECT COUNT(*) FROM plugin_tasks") == 2);
  BOOST_TEST(engine->lease("a", 10)[0]["step"] == "upload_photo_1");
}

BOOST_AUTO_TEST_CASE(queue_listing_filters_and_validates) {
  int64_t a = product("a", 1);
  int64_t b = product("b", 1);
  publish("vinted", a);
  publish("testshop", b);
  BOOST_TEST(engine->queues({}).size() == 2);
  BOOST_TEST(engine->queues({.platform = "testshop"}).size() == 1);
  BOOST_TEST(engine->queues({.status = "completed"}).empty());
  BOOST_TEST(engine->queues({.product_id = a}).size() == 1);
  BOOST_CHECK_THROW(engine->queues({.status = "exploded"}), AppError);
  BOOST_CHECK_THROW(engine->queue(12345, true), AppError);
}

BOOST_AUTO_TEST_CASE(a_retry_never_lists_a_product_twice) {
  int64_t id = product("twice", 1);
  auto first = publish("vinted", id);
  for (int i = 0; i < 3; ++i) {
    json t = engine->lease("a", 10)[0];
    report("a", t["id"], false, nullptr, {{"error_message", "down"}});
  }
  auto second = publish("vinted", id);  // the seller publishes it anew
  BOOST_CHECK_THROW(engine->retry_queue(first.queue_id), AppError);
  run_to_end("a");
  BOOST_TEST(engine->listings({.product_id = id})[0]["status"] == "published");
  BOOST_CHECK_THROW(engine->retry_queue(first.queue_id), AppError);  // already published
  BOOST_TEST(count("SELECT COUNT(*) FROM plugin_queue WHERE status = 'completed'") == 1);
  (void)second;
}

BOOST_AUTO_TEST_CASE(a_report_for_an_earlier_attempt_is_not_applied_to_the_next) {
  int64_t id = product("echo", 1);
  auto receipt = publish("vinted", id);
  json t = engine->lease("a", 10)[0];
  json first = report("a", t["id"], false, nullptr, {{"error_message", "timeout"}, {"attempt", 1}});
  json again = engine->lease("a", 10)[0];
  BOOST_TEST(again["attempt"] == 2);
  json echo = report("a", t["id"], false, nullptr, {{"error_message", "timeout"}, {"attempt", 1}});
  BOOST_TEST(echo == first);
  BOOST_TEST(engine->queue(receipt.queue_id, true)["tasks"][0]["retry_count"] == 1);
  BOOST_TEST(report("a", t["id"], true, {{"id", 3}}, {{"attempt", 2}})["status"] == "success");
}

BOOST_AUTO_TEST_CASE(a_fresh_result_of_an_earlier_hand_out_completes_the_step) {
  // The executor was still uploading attempt 1 when its host died; the new
  // host handed the step out again; the upload's result arrives now.
  int64_t id = product("late", 1);
  publish("vinted", id);
  json t = engine->lease("old", 10)[0];
  engine->release_owner("old", "killed");
  engine->lease("new", 10);
  json r = report("new", t["id"], true, {{"id", 77}}, {{"attempt", 1}});
  BOOST_TEST(r["status"] == "success");
  BOOST_TEST(engine->queue(t["queue_id"], false)["accumulated_data"]["photo_ids"] == json({77}));
}

BOOST_AUTO_TEST_CASE(identical_failures_without_attempt_count_once_per_hand_out) {
  // The seed's polling plugin resends the same failure for each attempt.
  int64_t id = product("seed", 1);
  auto receipt = publish("vinted", id);
  for (int attempt = 1; attempt <= 3; ++attempt) {
    json t = engine->lease("a", 10)[0];
    BOOST_TEST(t["attempt"] == attempt);
    report("a", t["id"], false, nullptr, {{"error_message", "Network timeout"}});
  }
  BOOST_TEST(engine->queue(receipt.queue_id, false)["status"] == "failed");
}

BOOST_AUTO_TEST_CASE(a_step_too_large_for_a_browser_message_fails_at_once) {
  testing::write_file(dir / "big.png", testing::png_bytes(1000, 1));
  json big = testing::vinted_product("novel", {"big.png"});
  big["description"] = std::string(1'200'000, 'a');
  int64_t id = products.import(json::array({big}), dir.path(), nullptr)[0];
  auto receipt = publish("vinted", id);
  json t = engine->lease("a", 10)[0];  // the photo step is small
  report("a", t["id"], true, {{"id", 1}});
  BOOST_TEST(engine->lease("a", 10).empty());  // the draft would not fit
  json queue = engine->queue(receipt.queue_id, false);
  BOOST_TEST(queue["status"] == "failed");
  BOOST_TEST(queue["error_message"].get<std::string>().find("browser message") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_processing_row_without_a_lease_does_not_block_forever) {
  db.exec(
      "INSERT INTO plugin_tasks (task_type, platform, http_method, path, status)"
      " VALUES ('legacy', 'vinted', 'GET', '/x', 'processing')");
  int64_t id = product("after", 1);
  publish("vinted", id);
  json tasks = engine->lease("a", 10);
  BOOST_REQUIRE(tasks.size() == 1);
  BOOST_TEST(tasks[0]["task_type"] == "legacy");  // handed out again, attempt 2
  BOOST_TEST(tasks[0]["attempt"] == 2);
}

BOOST_AUTO_TEST_SUITE_END()

#include <httplib.h>
#include <sqlite3.h>

#include <boost/test/unit_test.hpp>
#include <thread>

#include "harness.h"
#include "windows_run.h"

using namespace stoflow::testing;
using namespace std::chrono_literals;

namespace {

json hello(HostProcess& host) {
  return host.result_of("hello", {{"client", "resilience-test"}, {"browser", "chrome"}});
}

// A V1 task as the old server wrote them: no queue, a task_type, only the
// seed's columns (the schema fills in the rest).
void insert_legacy_task(const std::string& db_path, const std::string& platform,
                        const std::string& path) {
  sqlite3* db = nullptr;
  BOOST_REQUIRE(sqlite3_open(db_path.c_str(), &db) == SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* stmt = nullptr;
  BOOST_REQUIRE(
      sqlite3_prepare_v2(db,
                         "INSERT INTO plugin_tasks (task_type, platform, http_method, path,"
                         " payload, status) VALUES ('legacy_sync', ?, 'GET', ?, '{}', 'pending')",
                         -1, &stmt, nullptr) == SQLITE_OK);
  sqlite3_bind_text(stmt, 1, platform.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(stmt, 2, path.c_str(), -1, SQLITE_TRANSIENT);
  BOOST_REQUIRE(sqlite3_step(stmt) == SQLITE_DONE);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

std::map<std::string, json> by_platform(const json& tasks) {
  std::map<std::string, json> out;
  for (const auto& t : tasks) {
    BOOST_TEST(!out.contains(t["platform"].get<std::string>()), "two tasks for one platform");
    out[t["platform"]] = t;
  }
  return out;
}

json succeed(HostProcess& host, const json& task) {
  return host.result_of("tasks.result", {{"task_id", task["id"]},
                                         {"success", true},
                                         {"http_status", 200},
                                         {"result", vinted_response(task)}});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(resilience)

BOOST_AUTO_TEST_CASE(the_retry_rule_over_the_real_binary) {
  HostEnv env;
  int64_t flaky = env.product_with_photos("flaky", {900});
  int64_t doomed = env.product_with_photos("doomed", {900});
  HostProcess host(env.env);
  hello(host);

  // Two failures then a success: the same step each time, then the next one.
  host.result_of("products.publish", {{"platform", "vinted"}, {"product_id", flaky}});
  int64_t first_id = 0;
  for (int attempt = 1; attempt <= 2; ++attempt) {
    json task = host.result_of("tasks.list")[0];
    if (attempt == 1) first_id = task["id"];
    BOOST_TEST(task["id"] == first_id);
    BOOST_TEST(task["attempt"] == attempt);
    json r = host.result_of("tasks.result", {{"task_id", task["id"]},
                                             {"success", false},
                                             {"http_status", 503},
                                             {"error_message", "Service Unavailable"}});
    BOOST_TEST(r["status"] == "pending");
    BOOST_TEST(r["next_task_id"] == first_id);
  }
  json third = host.result_of("tasks.list")[0];
  BOOST_TEST(third["attempt"] == 3);
  BOOST_TEST(succeed(host, third)["status"] == "success");
  while (true) {
    json tasks = host.result_of("tasks.list");
    if (tasks.empty()) break;
    succeed(host, tasks[0]);
  }

  // Three failures (no HTTP response: status 0, as fetch reports it): step,
  // queue and listing failed, the message kept.
  json receipt =
      host.result_of("products.publish", {{"platform", "vinted"}, {"product_id", doomed}});
  json last;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    json task = host.result_of("tasks.list")[0];
    BOOST_TEST(task["attempt"] == attempt);
    last = host.result_of("tasks.result", {{"task_id", task["id"]},
                                           {"success", false},
                                           {"http_status", 0},
                                           {"error_message", "Network timeout"}});
  }
  BOOST_TEST(last["status"] == "failed");
  BOOST_TEST(last["queue_status"] == "failed");
  BOOST_TEST(host.result_of("tasks.list").empty());
  json queue = host.result_of("queues.get", {{"queue_id", receipt["queue_id"]}});
  BOOST_TEST(queue["status"] == "failed");
  BOOST_TEST(queue["error_message"] == "Network timeout");
  BOOST_TEST(host.result_of("listings.list", {{"product_id", doomed}})[0]["status"] == "failed");
  BOOST_TEST(host.result_of("listings.list", {{"product_id", flaky}})[0]["status"] == "published");

  // The seller retries: it runs again from the failed step.
  json retried = host.result_of("queues.retry", {{"queue_id", receipt["queue_id"]}});
  BOOST_TEST(retried["status"] == "queued");
  BOOST_TEST(host.result_of("tasks.list")[0]["attempt"] == 1);
}

BOOST_AUTO_TEST_CASE(strict_fifo_over_two_products_and_two_platforms_across_processes) {
  HostEnv env;
  int64_t a = env.product_with_photos("alpha", {700});
  int64_t b = env.product_with_photos("beta", {700});
  HostProcess first(env.env);
  HostProcess second(env.env);
  hello(first);
  hello(second);
  json qa = first.result_of("products.publish", {{"platform", "vinted"}, {"product_id", a}});
  json qb = first.result_of("products.publish", {{"platform", "vinted"}, {"product_id", b}});
  insert_legacy_task(env.db(), "etsy", "/v3/application/shops/1");
  insert_legacy_task(env.db(), "etsy", "/v3/application/shops/2");

  auto leased = by_platform(first.result_of("tasks.list"));
  BOOST_REQUIRE(leased.size() == 2);
  BOOST_TEST(leased["vinted"]["queue_id"] == qa["queue_id"]);
  BOOST_TEST(leased["etsy"]["path"] == "/v3/application/shops/1");
  BOOST_TEST(leased["etsy"]["queue_id"].is_null());
  // One step in flight per platform, whichever process asks.
  BOOST_TEST(second.result_of("tasks.list").empty());

  // A failed attempt keeps alpha at the head: beta waits.
  first.result_of(
      "tasks.result",
      {{"task_id", leased["vinted"]["id"]}, {"success", false}, {"error_message", "timeout"}});
  first.result_of(
      "tasks.result",
      {{"task_id", leased["etsy"]["id"]}, {"success", true}, {"result", {{"ok", true}}}});
  auto next = by_platform(second.result_of("tasks.list"));
  BOOST_TEST(next["vinted"]["queue_id"] == qa["queue_id"]);
  BOOST_TEST(next["vinted"]["attempt"] == 2);
  BOOST_TEST(next["etsy"]["path"] == "/v3/application/shops/2");

  // Alpha runs to its end before beta's first step.
  std::vector<int64_t> order;
  json task = next["vinted"];
  second.result_of(
      "tasks.result",
      {{"task_id", next["etsy"]["id"]}, {"success", true}, {"result", json::object()}});
  for (;;) {
    order.push_back(task["queue_id"]);
    succeed(second, task);
    json tasks = second.result_of("tasks.list");
    if (tasks.empty()) break;
    BOOST_REQUIRE(tasks.size() == 1);
    task = tasks[0];
  }
  std::vector<int64_t> expected(3, qa["queue_id"].get<int64_t>());
  expected.insert(expected.end(), 3, qb["queue_id"].get<int64_t>());
  BOOST_TEST(order == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(work_queued_from_the_cli_is_announced) {
  HostEnv env;
  int64_t product = env.product_with_photos("cli", {600});
  HostProcess host(env.env);  // says nothing: announcements need no request first
  BOOST_TEST(!host.wait_notification("tasks.available", 300ms).has_value());
  auto published = env.cli({"publish", "vinted", std::to_string(product)});
  BOOST_REQUIRE_MESSAGE(published.exit_code == 0, published.err);
  auto note = host.wait_notification("tasks.available", 5s);
  BOOST_REQUIRE_MESSAGE(note.has_value(), "no tasks.available after a CLI publish");
  BOOST_TEST((*note)["params"]["platforms"] == json({"vinted"}));
  BOOST_TEST(!note->contains("id"));
  BOOST_TEST(host.result_of("tasks.list").size() == 1);
}

BOOST_AUTO_TEST_CASE(work_queued_by_long_lived_processes_is_announced,
                     *not_yet_on_windows("serve (the HTTP server) is not built for Windows")) {
  // The HTTP server and a second browser keep their connection open: their
  // commits are seen through the commit signal, not the WAL file, whose
  // writes come before the commit is visible.
  HostEnv env;
  int64_t first = env.product_with_photos("http", {600});
  int64_t second = env.product_with_photos("rpc", {600});
  HostProcess idle(env.env);
  hello(idle);
  ServeProcess serve(env);
  httplib::Client client("127.0.0.1", serve.port());
  auto r = client.Post("/api/vinted/publish", {{"Authorization", "Bearer " + serve.token()}},
                       json{{"product_id", first}}.dump(), "application/json");
  BOOST_REQUIRE(r);
  BOOST_REQUIRE_EQUAL(r->status, 200);
  BOOST_REQUIRE_MESSAGE(idle.wait_notification("tasks.available", 5s).has_value(),
                        "an HTTP publish was not announced to the connected host");
  json task = idle.result_of("tasks.list")[0];
  BOOST_TEST(task["step"] == "upload_photo_1");

  // A second browser's host cancels that queue and publishes another product.
  HostProcess other(env.env);
  hello(other);
  other.result_of("queues.cancel", {{"queue_id", task["queue_id"]}});
  other.result_of("products.publish", {{"platform", "vinted"}, {"product_id", second}});
  auto note = idle.wait_notification("tasks.available", 5s);
  BOOST_REQUIRE_MESSAGE(note.has_value(), "a second host's publish was not announced");
  BOOST_TEST(idle.result_of("tasks.list").size() == 1);
}

BOOST_AUTO_TEST_CASE(a_host_reaching_the_database_through_a_symlink_leaves_live_leases_alone) {
  HostEnv env;
  int64_t product = env.product_with_photos("linked", {600});
  HostProcess holder(env.env);
  hello(holder);
  holder.result_of("products.publish", {{"platform", "vinted"}, {"product_id", product}});
  json leased = holder.result_of("tasks.list")[0];

  auto link = env.dir / "linked.db";
  std::filesystem::create_symlink(env.db(), link);
  auto linked_env = env.env;
  linked_env["STOFLOW_DB"] = link.string();
  HostProcess other(linked_env);
  hello(other);
  std::this_thread::sleep_for(1500ms);  // past a check for dead hosts
  BOOST_TEST(other.result_of("tasks.list").empty());
  json done = holder.result_of(
      "tasks.result",
      {{"task_id", leased["id"]}, {"success", true}, {"result", vinted_response(leased)}});
  BOOST_TEST(done["status"] == "success");
}

BOOST_AUTO_TEST_CASE(work_queued_while_no_browser_runs_is_announced_on_connect) {
  HostEnv env;
  int64_t product = env.product_with_photos("offline", {600});
  BOOST_REQUIRE(env.cli({"publish", "vinted", std::to_string(product)}).exit_code == 0);
  HostProcess host(env.env);
  auto note = host.wait_notification("tasks.available", 5s);  // before any request
  BOOST_REQUIRE(note.has_value());
  BOOST_TEST((*note)["params"]["platforms"] == json({"vinted"}));
  hello(host);
  BOOST_TEST(host.result_of("tasks.list").size() == 1);
}

BOOST_AUTO_TEST_CASE(sigkill_mid_operation_then_restart_finishes_without_loss_or_duplicates) {
  HostEnv env;
  std::vector<std::string> photos;
  int64_t product = env.product_with_photos("crash", {50'000, 1'200'000, 80'000}, &photos);
  std::vector<std::string> uploaded;  // what "Vinted" received, in order
  int64_t queue_id = 0;
  {
    HostProcess doomed(env.env);
    hello(doomed);
    queue_id = doomed.result_of("products.publish",
                                {{"platform", "vinted"}, {"product_id", product}})["queue_id"];
    json photo1 = doomed.result_of("tasks.list")[0];
    uploaded.push_back(read_blob(doomed, photo1["payload"]["photo[file]"]));
    succeed(doomed, photo1);
    json photo2 = doomed.result_of("tasks.list")[0];
    BOOST_TEST(photo2["step"] == "upload_photo_2");
    doomed.kill_hard();  // with photo 2 leased and not yet uploaded
  }
  HostProcess revived(env.env);
  hello(revived);
  json task;
  for (int i = 0; i < 30 && task.is_null(); ++i) {
    json tasks = revived.result_of("tasks.list");
    if (!tasks.empty())
      task = tasks[0];
    else
      std::this_thread::sleep_for(100ms);
  }
  BOOST_REQUIRE_MESSAGE(!task.is_null(), "the dead host's lease was not recovered within 3 s");
  BOOST_TEST(task["step"] == "upload_photo_2");
  while (!task.is_null()) {
    if (task["body"] == "multipart")
      uploaded.push_back(read_blob(revived, task["payload"]["photo[file]"]));
    succeed(revived, task);
    json tasks = revived.result_of("tasks.list");
    task = tasks.empty() ? json() : tasks[0];
  }
  BOOST_REQUIRE(uploaded.size() == 3);
  for (size_t i = 0; i < 3; ++i) BOOST_TEST((uploaded[i] == photos[i]), "photo " << i + 1);
  json queue = revived.result_of("queues.get", {{"queue_id", queue_id}});
  BOOST_TEST(queue["status"] == "completed");
  BOOST_TEST(queue["accumulated_data"]["photo_ids"].size() == 3);
  BOOST_TEST(queue["draft_id"].is_null());
  BOOST_TEST(revived.result_of("listings.list", {{"product_id", product}})[0]["status"] ==
             "published");
}

BOOST_AUTO_TEST_CASE(a_closed_connection_gives_its_step_to_the_next_one) {
  HostEnv env;
  int64_t product = env.product_with_photos("handover", {600});
  HostProcess first(env.env);
  hello(first);
  first.result_of("products.publish", {{"platform", "vinted"}, {"product_id", product}});
  json leased = first.result_of("tasks.list")[0];
  first.close_stdin();
  BOOST_TEST(first.wait_exit(5s).value_or(-1) == 0);
  HostProcess second(env.env);
  hello(second);
  json again = second.result_of("tasks.list");
  BOOST_REQUIRE(again.size() == 1);
  BOOST_TEST(again[0]["id"] == leased["id"]);
  BOOST_TEST(again[0]["attempt"] == 2);
}

BOOST_AUTO_TEST_CASE(an_expired_lease_is_announced_and_handed_out_again) {
  HostEnv env;
  env.env["STOFLOW_LEASE_SECONDS"] = "1";
  int64_t product = env.product_with_photos("slow", {600});
  HostProcess host(env.env);
  hello(host);
  host.result_of("products.publish", {{"platform", "vinted"}, {"product_id", product}});
  BOOST_REQUIRE(host.wait_notification("tasks.available", 5s));  // the publish itself
  json leased = host.result_of("tasks.list")[0];
  auto note = host.wait_notification("tasks.available", 5s);
  BOOST_REQUIRE_MESSAGE(note.has_value(), "no announcement after the lease expired");
  json late = host.call("tasks.result",
                        {{"task_id", leased["id"]}, {"success", true}, {"result", {{"id", 1}}}});
  BOOST_TEST(late["error"]["code"] == -32001);
  json again = host.result_of("tasks.list")[0];
  BOOST_TEST(again["id"] == leased["id"]);
  BOOST_TEST(again["attempt"] == 2);
}

BOOST_AUTO_TEST_SUITE_END()

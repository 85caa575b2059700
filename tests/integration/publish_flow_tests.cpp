#include <boost/test/unit_test.hpp>

#include "harness.h"

using namespace stoflow::testing;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(publish_flow)

BOOST_AUTO_TEST_CASE(three_photos_published_to_completion_over_pipes) {
  HostEnv env;
  std::vector<std::string> photos;
  int64_t product = env.product_with_photos("levis", {40'000, 2'600'000, 700'000}, &photos);

  HostProcess host(env.env);
  json hello = host.result_of("hello", {{"client", "integration-test"},
                                        {"version", "1.0"},
                                        {"browser", "chrome"},
                                        {"platforms", {"vinted"}}});
  BOOST_TEST(hello["host"] == "stoflow-host");
  BOOST_TEST(hello["protocol"] == 1);

  json receipt =
      host.result_of("products.publish", {{"platform", "vinted"}, {"product_id", product}});
  BOOST_TEST(receipt["status"] == "pending");
  BOOST_TEST(receipt["product_id"] == product);
  int64_t queue_id = receipt["queue_id"];
  BOOST_TEST(host.wait_notification("tasks.available", 5s).has_value());

  std::vector<int64_t> photo_ids;
  std::string temp_uuid;
  int64_t draft_id = 0;
  json last;
  for (int step = 0; step < 5; ++step) {
    json tasks = host.result_of("tasks.list", {{"limit", 10}});
    BOOST_REQUIRE_EQUAL(tasks.size(), 1u);
    const json& task = tasks[0];
    BOOST_TEST(task["queue_id"] == queue_id);
    BOOST_TEST(task["platform"] == "vinted");
    BOOST_TEST(task["operation"] == "publish_product");
    BOOST_TEST(task["http_method"] == "POST");
    BOOST_TEST(task["attempt"] == 1);
    BOOST_TEST(task["max_attempts"] == 3);
    BOOST_TEST(task["created_at"].is_string());
    if (step < 3) {
      BOOST_TEST(task["step"] == "upload_photo_" + std::to_string(step + 1));
      BOOST_TEST(task["path"] == "/api/v2/photos");
      BOOST_TEST(task["body"] == "multipart");
      const json& payload = task["payload"];
      BOOST_TEST(payload["photo[type]"] == "item");
      if (step == 0) temp_uuid = payload["photo[temp_uuid]"];
      BOOST_TEST(payload["photo[temp_uuid]"] == temp_uuid);
      BOOST_TEST(payload["photo[file]"]["content_type"] == "image/png");
      std::string bytes = read_blob(host, payload["photo[file]"]);
      BOOST_TEST(bytes.size() == photos[step].size());
      BOOST_TEST((bytes == photos[step]), "photo " << step + 1 << " differs from the original");
      photo_ids.push_back(1000 + task["id"].get<int64_t>());
    } else if (step == 3) {
      BOOST_TEST(task["step"] == "create_draft");
      BOOST_TEST(task["path"] == "/api/v2/item_upload/drafts");
      BOOST_TEST(task["body"] == "json");
      const json& draft = task["payload"]["draft"];
      BOOST_TEST(draft["id"].is_null());
      BOOST_TEST(draft["temp_uuid"] == temp_uuid);
      BOOST_TEST(draft["price"] == "27.90");
      BOOST_REQUIRE(draft["assigned_photos"].size() == 3);
      for (size_t i = 0; i < 3; ++i) {
        BOOST_TEST(draft["assigned_photos"][i]["id"] == photo_ids[i]);
        BOOST_TEST(draft["assigned_photos"][i]["orientation"] == 0);
      }
      BOOST_TEST(task["payload"]["upload_session_id"].is_string());
      draft_id = 5000 + task["id"].get<int64_t>();
    } else {
      BOOST_TEST(task["step"] == "complete_draft");
      BOOST_TEST(task["path"] ==
                 "/api/v2/item_upload/drafts/" + std::to_string(draft_id) + "/completion");
      BOOST_TEST(task["payload"]["push_up"] == false);
      BOOST_TEST(task["payload"]["draft"]["id"].is_null());
      BOOST_TEST(task["payload"]["draft"]["title"] == "levis");
    }
    last = host.result_of("tasks.result", {{"task_id", task["id"]},
                                           {"success", true},
                                           {"http_status", 200},
                                           {"result", vinted_response(task)}});
    BOOST_TEST(last["success"] == true);
    BOOST_TEST(last["task_id"] == task["id"]);
    BOOST_TEST(last["status"] == "success");
  }
  BOOST_TEST(last["queue_status"] == "completed");
  BOOST_TEST(last["next_task_id"].is_null());
  BOOST_TEST(host.result_of("tasks.list").empty());

  json listings = host.result_of("listings.list", {{"product_id", product}});
  BOOST_REQUIRE(listings.size() == 1);
  BOOST_TEST(listings[0]["status"] == "published");
  BOOST_TEST(listings[0]["url"].get<std::string>().find("https://www.vinted.fr/items/") == 0);

  json queue = host.result_of("queues.get", {{"queue_id", queue_id}});
  BOOST_TEST(queue["status"] == "completed");
  BOOST_TEST(queue["tasks"].size() == 5);
  BOOST_TEST(queue["accumulated_data"]["photo_ids"] == json(photo_ids));

  host.close_stdin();
  BOOST_TEST(host.wait_exit(5s).value_or(-1) == 0);

  // The CLI sees the same state in the same file.
  auto shown = env.cli({"queue", std::to_string(queue_id), "--json"});
  BOOST_TEST(shown.exit_code == 0);
  BOOST_TEST(json::parse(shown.out)["status"] == "completed");
}

BOOST_AUTO_TEST_CASE(seed_shaped_results_are_accepted) {
  HostEnv env;
  int64_t product = env.product_with_photos("seed", {1000});
  HostProcess host(env.env);
  host.result_of("products.publish", {{"platform", "vinted"}, {"product_id", product}});
  json seed_results[] = {{{"photo_id", 123}},
                         {{"id", 55}},
                         {{"id", 987654321}, {"url", "https://vinted.fr/items/987654321"}}};
  for (const auto& result : seed_results) {
    json task = host.result_of("tasks.list")[0];
    host.result_of("tasks.result",
                   {{"task_id", task["id"]}, {"success", true}, {"result", result}});
  }
  json listing = host.result_of("listings.list", {{"product_id", product}})[0];
  BOOST_TEST(listing["status"] == "published");
  BOOST_TEST(listing["remote_id"] == "987654321");
}

// One durable commit per step: the result and the lease of the next step are
// one transaction, and the reply carries the step, so no tasks.list is needed.
BOOST_AUTO_TEST_CASE(a_result_can_lease_the_next_step_in_the_same_commit) {
  HostEnv env;
  int64_t first = env.product_with_photos("first", {800, 900});
  int64_t second = env.product_with_photos("second", {700});
  BOOST_REQUIRE(
      env.cli({"publish", "vinted", std::to_string(first), std::to_string(second)}).exit_code == 0);
  HostProcess host(env.env);
  json task = host.result_of("tasks.list")[0];
  std::vector<std::string> steps;
  std::vector<int64_t> products_seen;
  json reply;
  for (int guard = 0; guard < 10 && task.is_object(); ++guard) {
    steps.push_back(task["step"]);
    json params = {{"task_id", task["id"]},
                   {"success", true},
                   {"result", vinted_response(task)},
                   {"lease_next", true}};
    reply = host.result_of("tasks.result", params);
    BOOST_TEST(reply["status"] == "success");
    if (reply["next_task"].is_object()) {
      BOOST_TEST(reply["next_task"]["status"] == "processing");  // leased to us already
      // A resent report gets the stored answer, never a step handed out a second time.
      json again = host.result_of("tasks.result", params);
      BOOST_TEST(!again.contains("next_task"));
      BOOST_TEST(again["task_id"] == task["id"]);
    }
    task = reply["next_task"];
  }
  BOOST_TEST(reply["next_task"].is_null());  // nothing left
  // The first product's four steps, then the second's three, in FIFO order without a list.
  std::vector<std::string> expected = {"upload_photo_1", "upload_photo_2", "create_draft",
                                       "complete_draft", "upload_photo_1", "create_draft",
                                       "complete_draft"};
  BOOST_TEST(steps == expected, boost::test_tools::per_element());
  BOOST_TEST(host.result_of("tasks.list").empty());
  for (int64_t product : {first, second}) {
    BOOST_TEST(host.result_of("listings.list", {{"product_id", product}})[0]["status"] ==
               "published");
  }
  BOOST_TEST(host.call("tasks.result", {{"task_id", 1},
                                        {"success", true},
                                        {"lease_next", "yes"}})["error"]["code"] == -32602);
}

BOOST_AUTO_TEST_CASE(a_remote_id_cannot_steer_the_next_path) {
  HostEnv env;
  int64_t product = env.product_with_photos("steer", {1000});
  HostProcess host(env.env);
  host.result_of("products.publish", {{"platform", "vinted"}, {"product_id", product}});
  json photo = host.result_of("tasks.list")[0];
  host.result_of("tasks.result",
                 {{"task_id", photo["id"]}, {"success", true}, {"result", {{"id", 321}}}});

  // Each hostile id fails its attempt where it is read; the step is handed
  // out again as it was, never as a completion on another path.
  for (const json& hostile : {json("1#"), json("1?x=y#"), json("../../items/9"), json(-4)}) {
    json draft = host.result_of("tasks.list")[0];
    BOOST_TEST(draft["step"] == "create_draft");
    json reply = host.result_of(
        "tasks.result",
        {{"task_id", draft["id"]}, {"success", true}, {"result", {{"draft", {{"id", hostile}}}}}});
    BOOST_TEST(reply["status"] != "success", "accepted the draft id " << hostile.dump());
    if (reply["status"] == "failed") break;  // out of attempts: the queue has stopped
  }
  json queue = host.result_of("queues.list")[0];
  BOOST_TEST(queue["status"] == "failed");
  BOOST_TEST(queue["error_message"].get<std::string>().find("not a Vinted id") !=
             std::string::npos);
  json listing = host.result_of("listings.list", {{"product_id", product}})[0];
  BOOST_TEST(listing["status"] == "failed");

  // Seller retries; a well-formed id then goes into the path, and only there.
  host.result_of("queues.retry", {{"queue_id", queue["id"]}});
  json draft = host.result_of("tasks.list")[0];
  host.result_of(
      "tasks.result",
      {{"task_id", draft["id"]}, {"success", true}, {"result", {{"draft", {{"id", "90017"}}}}}});
  json completion = host.result_of("tasks.list")[0];
  BOOST_TEST(completion["path"] == "/api/v2/item_upload/drafts/90017/completion");
}

BOOST_AUTO_TEST_SUITE_END()

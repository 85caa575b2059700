#include <boost/test/unit_test.hpp>
#include <set>

#include "test_support.h"
#include "util/url.h"
#include "workflow/vinted_publish.h"

using namespace stoflow;
using nlohmann::json;
using workflow::VintedPublish;

namespace {

store::Product product_with_photos(int photos) {
  store::Product p;
  p.id = 7;
  p.title = "Levi's 501";
  p.description = "Straight fit";
  p.price_cents = 2790;
  p.currency = "EUR";
  p.attributes = {{"vinted",
                   {{"catalog_id", 1839},
                    {"brand_id", 53},
                    {"size_id", 207},
                    {"status_id", 2},
                    {"color_ids", {9, 12}},
                    {"package_size_id", 2}}}};
  for (int i = 0; i < photos; ++i) {
    p.images.push_back({i, std::string(63, 'a') + std::to_string(i),
                        "p" + std::to_string(i) + ".jpg", "image/jpeg", 1000 + i, "p.jpg"});
  }
  return p;
}

const workflow::ListingState kNotListed{};

}  // namespace

BOOST_AUTO_TEST_SUITE(vinted_suite)

BOOST_AUTO_TEST_CASE(price_is_a_decimal_string) {
  BOOST_TEST(VintedPublish::price_string(2790) == "27.90");
  BOOST_TEST(VintedPublish::price_string(5) == "0.05");
  BOOST_TEST(VintedPublish::price_string(100000) == "1000.00");
}

BOOST_AUTO_TEST_CASE(walks_photos_then_draft_then_completion) {
  VintedPublish vinted;
  auto product = product_with_photos(2);
  json context = vinted.initial_context(product, json::object());
  BOOST_TEST(context["temp_uuid"].get<std::string>().size() == 36);
  BOOST_TEST(context["upload_session_id"] != context["temp_uuid"]);
  json acc = json::object();

  for (int i = 0; i < 2; ++i) {
    auto step = vinted.next_step({product, kNotListed, acc, context});
    BOOST_REQUIRE(step);
    BOOST_TEST(step->step == "upload_photo_" + std::to_string(i + 1));
    BOOST_TEST(step->http_method == "POST");
    BOOST_TEST(step->path == "/api/v2/photos");
    BOOST_TEST(static_cast<int>(step->body) == static_cast<int>(workflow::BodyKind::kMultipart));
    BOOST_TEST(step->payload["photo[type]"] == "item");
    BOOST_TEST(step->payload["photo[temp_uuid]"] == context["temp_uuid"]);
    BOOST_TEST(step->payload["photo[file]"]["$blob"] == product.images[i].sha256);
    BOOST_TEST(step->payload["photo[file]"]["size"] == product.images[i].size);
    acc = vinted.accumulate(step->step,
                            {{"id", 500 + i}, {"url", "https://img/" + std::to_string(i)}}, acc);
  }
  BOOST_TEST(acc["photo_ids"] == json({500, 501}));

  auto draft = vinted.next_step({product, kNotListed, acc, context});
  BOOST_REQUIRE(draft);
  BOOST_TEST(draft->step == "create_draft");
  BOOST_TEST(draft->path == "/api/v2/item_upload/drafts");
  const json& item = draft->payload["draft"];
  BOOST_TEST(item["id"].is_null());
  BOOST_TEST(item["price"] == "27.90");
  BOOST_TEST(item["currency"] == "EUR");
  BOOST_TEST(item["temp_uuid"] == context["temp_uuid"]);
  BOOST_TEST(item["catalog_id"] == 1839);
  BOOST_TEST(item["color_ids"] == json({9, 12}));
  BOOST_TEST(item["assigned_photos"] ==
             json::parse(R"([{"id":500,"orientation":0},{"id":501,"orientation":0}])"));
  BOOST_TEST(item["item_attributes"] == json::array());
  BOOST_TEST(item["is_unisex"] == false);
  BOOST_TEST(draft->payload["parcel"].is_null());
  BOOST_TEST(draft->payload["upload_session_id"] == context["upload_session_id"]);

  acc = vinted.accumulate("create_draft", {{"draft", {{"id", 9001}}}}, acc);
  auto completion = vinted.next_step({product, kNotListed, acc, context});
  BOOST_REQUIRE(completion);
  BOOST_TEST(completion->path == "/api/v2/item_upload/drafts/9001/completion");
  BOOST_TEST(completion->payload["push_up"] == false);
  BOOST_TEST(completion->payload["feedback_id"].is_null());
  BOOST_TEST(completion->payload["draft"]["assigned_photos"].size() == 2);
  BOOST_TEST(completion->payload["draft"]["id"].is_null());  // the path names the draft
  BOOST_TEST(completion->payload["parcel"].is_null());

  acc = vinted.accumulate(
      "complete_draft", {{"item", {{"id", 777}, {"url", "https://www.vinted.fr/items/777"}}}}, acc);
  BOOST_TEST(!vinted.next_step({product, kNotListed, acc, context}));
  auto outcome = vinted.outcome({product, kNotListed, acc, context});
  BOOST_REQUIRE(outcome);
  BOOST_TEST(outcome->remote_id == "777");
  BOOST_TEST(outcome->url == "https://www.vinted.fr/items/777");
}

BOOST_AUTO_TEST_CASE(accepts_the_seed_result_shapes) {
  VintedPublish vinted;
  json acc = vinted.accumulate("upload_photo_1", {{"photo_id", 123}}, json::object());
  acc = vinted.accumulate("upload_photo_2", {{"photo", {{"id", 456}}}}, acc);
  BOOST_TEST(acc["photo_ids"] == json({123, 456}));
  acc = vinted.accumulate("create_draft", {{"id", 55}}, acc);
  BOOST_TEST(acc["draft_id"] == 55);
  acc = vinted.accumulate("complete_draft",
                          {{"id", 987654321}, {"url", "https://vinted.fr/items/987654321"}}, acc);
  auto product = product_with_photos(2);
  BOOST_TEST(vinted.outcome({product, kNotListed, acc, json::object()})->remote_id == "987654321");
  BOOST_TEST(acc["listing_created"] == true);
}

BOOST_AUTO_TEST_CASE(the_same_photo_result_twice_stays_one_photo) {
  VintedPublish vinted;
  json acc = vinted.accumulate("upload_photo_1", {{"id", 1}}, json::object());
  acc = vinted.accumulate("upload_photo_1", {{"id", 1}}, acc);
  BOOST_TEST(acc["photo_ids"].size() == 1);
}

BOOST_AUTO_TEST_CASE(a_response_without_ids_is_an_error) {
  VintedPublish vinted;
  BOOST_CHECK_THROW(vinted.accumulate("upload_photo_1", {{"ok", true}}, json::object()),
                    workflow::ResponseError);
  BOOST_CHECK_THROW(vinted.accumulate("create_draft", json::array(), json::object()),
                    workflow::ResponseError);
  BOOST_CHECK_THROW(vinted.accumulate("complete_draft", {{"item", nullptr}}, json::object()),
                    workflow::ResponseError);
}

BOOST_AUTO_TEST_CASE(ids_that_would_steer_a_path_are_refused_where_read) {
  VintedPublish vinted;
  for (const json& id : {json("1#"), json("1?x=y#"), json("../9"), json(""), json("12a"), json(0),
                         json(-3), json(1.5), json(true), json::object()}) {
    BOOST_CHECK_THROW(vinted.accumulate("create_draft", {{"draft", {{"id", id}}}}, json::object()),
                      workflow::ResponseError);
    BOOST_CHECK_THROW(vinted.accumulate("complete_draft", {{"item", {{"id", id}}}}, json()),
                      workflow::ResponseError);
  }
  json acc = vinted.accumulate("create_draft", {{"draft", {{"id", "42"}}}}, json());
  BOOST_TEST(acc["draft_id"] == "42");
  auto product = product_with_photos(0);
  json context = vinted.initial_context(product, json::object());
  // A draft id stored by an older version is still encoded into one segment.
  acc["draft_id"] = "7?x#";
  auto step = vinted.next_step({product, kNotListed, acc, context});
  BOOST_REQUIRE(step);
  BOOST_TEST(step->path == "/api/v2/item_upload/drafts/7%3Fx%23/completion");
}

BOOST_AUTO_TEST_CASE(a_value_stays_one_path_segment) {
  BOOST_TEST(percent_encode_segment("12345") == "12345");
  BOOST_TEST(percent_encode_segment("1#") == "1%23");
  BOOST_TEST(percent_encode_segment("1?x=y#") == "1%3Fx%3Dy%23");
  BOOST_TEST(percent_encode_segment("../a/b%") == "..%2Fa%2Fb%25");
  BOOST_TEST(percent_encode_segment("..") == "%2E%2E");
  BOOST_TEST(percent_encode_segment("é") == "%C3%A9");
}

BOOST_AUTO_TEST_CASE(lists_what_a_product_lacks) {
  VintedPublish vinted;
  store::Product empty;
  auto missing = vinted.missing_fields(empty);
  std::set<std::string> names(missing.begin(), missing.end());
  for (const char* field : {"title", "description", "price_cents", "images", "vinted.catalog_id",
                            "vinted.status_id", "vinted.package_size_id"}) {
    BOOST_TEST(names.contains(field), field);
  }
  auto complete = product_with_photos(1);
  BOOST_TEST(vinted.missing_fields(complete).empty());
  complete.attributes["vinted"]["brand_id"] = "Levi's";
  BOOST_TEST(vinted.missing_fields(complete) == std::vector<std::string>{"vinted.brand_id"});
}

BOOST_AUTO_TEST_CASE(classifies_vinted_failures) {
  VintedPublish vinted;
  using workflow::FailureKind;
  BOOST_TEST(static_cast<int>(vinted.classify_failure(401, {{"code", 100}})) ==
             static_cast<int>(FailureKind::kSessionExpired));
  BOOST_TEST(static_cast<int>(vinted.classify_failure(429, nullptr)) ==
             static_cast<int>(FailureKind::kRateLimited));
  BOOST_TEST(static_cast<int>(vinted.classify_failure(500, {{"code", 0}})) ==
             static_cast<int>(FailureKind::kRetry));
}

BOOST_AUTO_TEST_SUITE_END()

// Crash consistency over the real binary: several products are published on
// Vinted and driven to completion by a simulated extension and marketplace,
// while the host is killed with SIGKILL at random points (a seeded plan) and a
// new host is started each time, as a browser would after a crash.
//
// The guarantee under test (docs/architecture.md, "Durability"): once the
// host has answered tasks.result the transition is on disk; a result it never
// acknowledged is handed out again. So the marketplace may see a step twice
// only when the first call's result never reached the host (here: when the
// simulated browser restarted too and forgot the result it kept); the host
// itself must never hand out a step it acknowledged, never record two photo
// ids for one photo, never lose a step, and run the queues strictly in publish
// order.
//
// Reproduce a failure with STOFLOW_CRASH_SEED=<seed printed in the failure>.
#include <signal.h>
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "harness.h"

using namespace stoflow::testing;
using namespace std::chrono_literals;

namespace {

// Where the host can be killed, in the order a step meets them.
enum class KillPoint {
  kAtStart,       // a fresh host, before hello
  kBeforeList,    // between steps, nothing leased
  kListSent,      // tasks.list sent, reply not read: the lease may or may not be taken
  kLeased,        // the step is leased, nothing done yet
  kMidBlob,       // between two blobs.read chunks of a photo
  kExecuted,      // the marketplace did the work, tasks.result not sent yet
  kResultSent,    // tasks.result sent, reply not read: applied or not
  kAcknowledged,  // the host answered tasks.result
};
constexpr int kKillPoints = 8;
const char* kKillNames[kKillPoints] = {"at start",          "before tasks.list",  "tasks.list sent",
                                       "step leased",       "mid blobs.read",     "step executed",
                                       "tasks.result sent", "result acknowledged"};

// Killing the host while it holds a lease costs the step an attempt (a lost
// lease counts as a failure, so that a step that crashes its executor ends
// failed after three tries). The plan never spends a step's last attempt.
bool costs_an_attempt(KillPoint point) {
  return point == KillPoint::kListSent || point == KillPoint::kLeased ||
         point == KillPoint::kMidBlob || point == KillPoint::kExecuted ||
         point == KillPoint::kResultSent;
}

constexpr int kKillsPerPoint = 5;    // 40 kills in all
constexpr size_t kBlobChunk = 4096;  // small chunks, so that photos take several reads

// Vinted as the executor sees it: a fresh id for every call, and a memory of
// which queue and photo each id was issued for, to check what the host sends.
struct Marketplace {
  std::map<int64_t, std::vector<std::string>> photos_of_queue;  // the photo bytes, in order
  int64_t next_id = 700000;
  std::map<int64_t, std::pair<int64_t, int>> photo_owner;  // photo id -> (queue, photo number)
  std::map<int64_t, int64_t> draft_owner;                  // draft id -> queue
  std::map<int64_t, std::pair<int64_t, int64_t>> items;    // item id -> (queue, draft id)
  std::map<std::pair<int64_t, std::string>, int> calls;    // (queue, step) -> calls
  std::vector<int64_t> call_order;                         // the queue of every call
  int repeats = 0;

  void check_assigned_photos(int64_t queue, const json& draft) {
    const auto& photos = photos_of_queue.at(queue);
    const json& assigned = draft.at("assigned_photos");
    BOOST_REQUIRE_MESSAGE(assigned.size() == photos.size(),
                          "queue " << queue << " sent " << assigned.size() << " photos for "
                                   << photos.size() << ": " << assigned.dump());
    for (size_t i = 0; i < assigned.size(); ++i) {
      int64_t id = assigned[i].at("id");
      auto owner = photo_owner.find(id);
      BOOST_REQUIRE_MESSAGE(
          owner != photo_owner.end() && owner->second.first == queue &&
              owner->second.second == static_cast<int>(i + 1),
          "queue " << queue << " names photo id " << id << " as its photo " << i + 1);
    }
  }

  json execute(const json& task, const std::string& uploaded) {
    int64_t queue = task.at("queue_id");
    std::string step = task.at("step");
    if (calls[{queue, step}]++ > 0) ++repeats;
    call_order.push_back(queue);
    int64_t id = next_id++;
    if (step.rfind("upload_photo_", 0) == 0) {
      int number = std::stoi(step.substr(13));
      const auto& photos = photos_of_queue.at(queue);
      BOOST_REQUIRE(number >= 1 && number <= static_cast<int>(photos.size()));
      BOOST_REQUIRE_MESSAGE(uploaded == photos[number - 1],
                            "queue " << queue << " uploaded other bytes as photo " << number);
      photo_owner[id] = {queue, number};
      return {{"id", id}, {"url", "https://images.example/" + std::to_string(id)}};
    }
    const json& payload = task.at("payload");
    if (step == "create_draft") {
      check_assigned_photos(queue, payload.at("draft"));
      draft_owner[id] = queue;
      return {{"draft", {{"id", id}, {"status", "draft"}}}};
    }
    BOOST_REQUIRE_EQUAL(step, "complete_draft");
    check_assigned_photos(queue, payload.at("draft"));
    std::string path = task.at("path");
    const std::string prefix = "/api/v2/item_upload/drafts/";
    BOOST_REQUIRE(path.rfind(prefix, 0) == 0);
    int64_t draft = std::stoll(path.substr(prefix.size()));
    BOOST_REQUIRE_MESSAGE(
        draft_owner.contains(draft) && draft_owner[draft] == queue,
        "queue " << queue << " completes draft " << draft << ", which is not one of its own");
    items[id] = {queue, draft};
    return {{"item", {{"id", id}, {"url", "https://www.vinted.fr/items/" + std::to_string(id)}}}};
  }
};

// Which kill comes next: drawn from the kills still to make (kKillsPerPoint
// at each point), then kept until its point comes, so that every point gets
// its kills however rare it is (a photo read in several chunks, a step whose
// work is not already done). Only a new host can be killed at its start.
struct KillPlan {
  std::mt19937_64 rng;
  std::array<int, kKillPoints> left;
  std::array<int, kKillPoints> done{};
  std::optional<KillPoint> target;

  explicit KillPlan(uint64_t seed) : rng(seed) { left.fill(kKillsPerPoint); }

  void draw(bool host_start) {
    if (target) return;
    int total = 0;
    for (int p = 0; p < kKillPoints; ++p)
      if (host_start || p != static_cast<int>(KillPoint::kAtStart)) total += left[p];
    if (total == 0) return;
    int pick = static_cast<int>(rng() % static_cast<uint64_t>(total));
    for (int p = 0; p < kKillPoints; ++p) {
      if (!host_start && p == static_cast<int>(KillPoint::kAtStart)) continue;
      if (pick < left[p]) {
        target = static_cast<KillPoint>(p);
        return;
      }
      pick -= left[p];
    }
  }
  bool wants(KillPoint point) const { return target == point; }
  // True when the host is to be killed here and now.
  bool at(KillPoint point, bool allowed) {
    if (target != point || !allowed) return false;
    target.reset();
    --left[static_cast<int>(point)];
    ++done[static_cast<int>(point)];
    return true;
  }
  int kills() const { return std::accumulate(done.begin(), done.end(), 0); }
  bool finished() const { return kills() == kKillPoints * kKillsPerPoint; }
  bool coin(int percent) { return static_cast<int>(rng() % 100) < percent; }
  int micros(int max) { return static_cast<int>(rng() % static_cast<uint64_t>(max)); }
};

std::vector<std::vector<std::string>> rows(sqlite3* db, const std::string& sql) {
  std::vector<std::vector<std::string>> out;
  sqlite3_stmt* stmt = nullptr;
  BOOST_REQUIRE_MESSAGE(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK,
                        sqlite3_errmsg(db));
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    std::vector<std::string> row;
    for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
      const unsigned char* text = sqlite3_column_text(stmt, i);
      row.emplace_back(text ? reinterpret_cast<const char*>(text) : "NULL");
    }
    out.push_back(row);
  }
  sqlite3_finalize(stmt);
  return out;
}

struct HostKilled {};

// The simulated extension: one connection at a time, one platform, and the
// real extension's rule for a success the host never acknowledged: it is kept
// and sent instead of running the step again when the step comes back
// (extension/src/task-runner.js). A browser restart forgets those.
class Extension {
 public:
  Extension(HostEnv& env, Marketplace& market, KillPlan& plan, sqlite3* db, bool lease_next)
      : env_(env), market_(market), plan_(plan), db_(db), lease_next_(lease_next) {}

  // Runs hosts until no step is left; each kill starts a new host.
  void run_to_completion(size_t queues) {
    for (int hosts = 1; hosts <= 200; ++hosts) {
      HostProcess host(env_.env);
      try {
        serve(host);
        return;
      } catch (const HostKilled&) {
        if (plan_.coin(25)) {
          // The browser restarted as well, maybe with the other kind of client.
          forgotten_ += kept_.size();
          for (const auto& [id, report] : kept_) forgotten_steps_.insert(step_of_.at(id));
          kept_.clear();
          lease_next_ = plan_.coin(50);
        }
      }
    }
    BOOST_FAIL("200 host processes did not complete " << queues << " queues");
  }

  const std::set<int64_t>& acknowledged() const { return acknowledged_; }
  int steps_leased_with_a_result() const { return steps_leased_with_a_result_; }
  size_t forgotten() const { return forgotten_; }
  int kept_results_sent() const { return kept_sent_; }

 private:
  // The attempt the head step is on (or would be handed out with): a kill
  // that ends its lease must leave it one more.
  bool attempt_to_spare() {
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db_,
                       "SELECT COALESCE(MAX(retry_count + 1 - max_retries), -1) FROM plugin_tasks"
                       " WHERE status IN ('pending', 'processing')",
                       -1, &stmt, nullptr);
    BOOST_REQUIRE(stmt && sqlite3_step(stmt) == SQLITE_ROW);
    bool spare = sqlite3_column_int64(stmt, 0) < 0;
    sqlite3_finalize(stmt);
    return spare;
  }

  void maybe_kill(HostProcess& host, KillPoint point, int max_delay_us = 0) {
    // After a result that leased the next step, the host holds that one.
    bool costs = costs_an_attempt(point) ||
                 (point == KillPoint::kAcknowledged && next_.is_object()) ||
                 (point == KillPoint::kBeforeList && holding_);
    bool allowed = !costs || attempt_to_spare();
    if (!plan_.at(point, allowed)) return;
    // A moment's delay lets the kill land before, inside or after the
    // transaction the host is running for the message just sent.
    if (max_delay_us > 0)
      std::this_thread::sleep_for(std::chrono::microseconds(plan_.micros(max_delay_us)));
    host.kill_hard();
    throw HostKilled{};
  }

  json reply_to(HostProcess& host, const std::string& id) {
    for (;;) {
      auto message = host.receive(10s);
      BOOST_REQUIRE_MESSAGE(message.has_value(), "the host did not answer " << id);
      if (message->contains("method")) continue;  // tasks.available
      if ((*message)["id"] == id) {
        BOOST_REQUIRE_MESSAGE(!message->contains("error"), id << ": " << message->dump());
        return (*message)["result"];
      }
    }
  }

  json request(HostProcess& host, const std::string& method, const json& params, KillPoint sent) {
    std::string id = method + "-" + std::to_string(++requests_);
    host.send({{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}});
    maybe_kill(host, sent, 3000);
    return reply_to(host, id);
  }

  std::string read_photo(HostProcess& host, const json& file) {
    std::string bytes;
    for (;;) {
      json chunk = host.result_of(
          "blobs.read",
          {{"blob", file.at("$blob")}, {"offset", bytes.size()}, {"length", kBlobChunk}});
      bytes += base64_decode(chunk.at("data"));
      if (chunk.at("eof") == true) return bytes;
      maybe_kill(host, KillPoint::kMidBlob);
    }
  }

  void serve(HostProcess& host) {
    next_ = nullptr;
    plan_.draw(true);
    maybe_kill(host, KillPoint::kAtStart);
    host.result_of("hello", {{"client", "crash-consistency-test"}, {"browser", "chrome"}});
    for (;;) {
      plan_.draw(false);
      json task = std::move(next_);
      next_ = nullptr;
      // tasks.list hands a held step back (same attempt). A step leased with
      // a result goes through it when the next kill is planned there, so that
      // clients asking for lease_next meet those points too.
      bool list_anyway = plan_.wants(KillPoint::kBeforeList) || plan_.wants(KillPoint::kListSent);
      if (task.is_object() && !list_anyway) {
        BOOST_REQUIRE_EQUAL(task.at("status"), "processing");
      } else {
        holding_ = task.is_object();
        json listed = list_one(host);
        holding_ = false;
        if (task.is_object()) {
          BOOST_REQUIRE_MESSAGE(
              listed.is_object() && listed["id"] == task["id"],
              "the step leased with a result is not listed again: " << listed.dump());
        }
        if (listed.is_null()) return;
        task = listed;
      }
      run_step(host, task);
    }
  }

  // The step tasks.list hands out, or null when there is none.
  json list_one(HostProcess& host) {
    maybe_kill(host, KillPoint::kBeforeList);
    json tasks = request(host, "tasks.list", {{"limit", 10}}, KillPoint::kListSent);
    if (tasks.empty()) {
      // Nothing to hand out: every queue must be done, or a step was lost.
      auto head = rows(db_,
                       "SELECT id, status, current_step FROM plugin_queue"
                       " WHERE status != 'completed' ORDER BY position LIMIT 1");
      for (const auto& q : head) {
        BOOST_ERROR("nothing handed out while queue " << q[0] << " is " << q[1] << " at " << q[2]
                                                      << ": its next step was lost");
      }
      return nullptr;
    }
    BOOST_REQUIRE_EQUAL(tasks.size(), 1u);  // one platform: one step in flight
    return tasks[0];
  }

  void run_step(HostProcess& host, const json& task) {
    int64_t task_id = task.at("id");
    BOOST_REQUIRE_MESSAGE(
        !acknowledged_.contains(task_id),
        "task " << task_id << " was handed out again after its success was acknowledged");
    maybe_kill(host, KillPoint::kLeased);

    json report;
    if (auto kept = kept_.find(task_id); kept != kept_.end()) {
      report = kept->second;  // names the attempt that did the work
      ++kept_sent_;
    } else {
      // The marketplace does a step twice only when the result of the first
      // time never reached the host and was forgotten by a browser restart.
      std::pair<int64_t, std::string> step{task.at("queue_id"), task.at("step")};
      BOOST_REQUIRE_MESSAGE(market_.calls[step] == 0 || forgotten_steps_.contains(step),
                            "queue " << step.first << " step " << step.second
                                     << " runs again though its first result was not lost");
      std::string uploaded;
      if (task.at("body") == "multipart")
        uploaded = read_photo(host, task.at("payload").at("photo[file]"));
      report = {{"task_id", task_id},
                {"success", true},
                {"http_status", 200},
                {"result", market_.execute(task, uploaded)},
                {"attempt", task.at("attempt")}};
      if (lease_next_) report["lease_next"] = true;
      kept_[task_id] = report;  // until the host acknowledges it
      step_of_[task_id] = step;
      maybe_kill(host, KillPoint::kExecuted);
    }
    json answer = request(host, "tasks.result", report, KillPoint::kResultSent);
    BOOST_REQUIRE_MESSAGE(answer.at("status") == "success",
                          "task " << task_id << " answered " << answer.dump());
    acknowledged_.insert(task_id);
    kept_.erase(task_id);
    if (answer.contains("next_task") && answer["next_task"].is_object()) {
      next_ = answer["next_task"];
      ++steps_leased_with_a_result_;
    }
    maybe_kill(host, KillPoint::kAcknowledged);
  }

  HostEnv& env_;
  Marketplace& market_;
  KillPlan& plan_;
  sqlite3* db_;
  // Like the extension, ask for the next step with each result (lease_next),
  // or list tasks after each result like the seed's plugin; drawn again at
  // each browser restart, so both kinds of client meet every kill point.
  bool lease_next_;
  json next_;             // the step the last result leased, if any
  bool holding_ = false;  // listing tasks while holding that step
  int steps_leased_with_a_result_ = 0;
  std::map<int64_t, json> kept_;  // task id -> a success report not yet acknowledged
  std::map<int64_t, std::pair<int64_t, std::string>> step_of_;  // task id -> (queue, step)
  std::set<std::pair<int64_t, std::string>> forgotten_steps_;   // work a restart forgot
  std::set<int64_t> acknowledged_;
  size_t forgotten_ = 0;
  int kept_sent_ = 0;
  int requests_ = 0;
};

json cli_json(const HostEnv& env, const std::vector<std::string>& args) {
  auto r = env.cli(args);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, args[0] << " failed: " << r.err);
  return json::parse(r.out);
}

uint64_t crash_seed() {
  if (const char* given = std::getenv("STOFLOW_CRASH_SEED"))
    return std::strtoull(given, nullptr, 10);
  return std::random_device{}();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(crash_consistency)

BOOST_AUTO_TEST_CASE(sigkill_at_random_points_loses_and_repeats_nothing_the_host_acknowledged) {
  const uint64_t seed = crash_seed();
  BOOST_TEST_MESSAGE("crash consistency seed: " << seed << " (STOFLOW_CRASH_SEED to replay)");
  BOOST_TEST_CONTEXT("STOFLOW_CRASH_SEED=" << seed) {
    HostEnv env;
    // Photos of 5 to 14 KB: several 4 KiB blobs.read chunks each.
    const std::vector<std::vector<size_t>> catalogue = {
        {9000, 5000, 12000}, {6000}, {14000, 7000}, {5000, 8000, 6000, 9000},
        {11000, 5000},       {7000}, {9000, 6000},  {13000}};
    std::vector<int64_t> products;
    std::vector<std::vector<std::string>> photos(catalogue.size());
    for (size_t i = 0; i < catalogue.size(); ++i) {
      products.push_back(
          env.product_with_photos("item" + std::to_string(i + 1), catalogue[i], &photos[i]));
    }
    std::vector<std::string> publish = {"publish", "vinted"};
    for (int64_t id : products) publish.push_back(std::to_string(id));
    publish.push_back("--json");
    json receipts = cli_json(env, publish);
    BOOST_REQUIRE_EQUAL(receipts.size(), products.size());

    Marketplace market;
    std::vector<int64_t> queue_ids;  // publish order
    std::map<int64_t, int64_t> product_of_queue;
    for (size_t i = 0; i < receipts.size(); ++i) {
      int64_t queue = receipts[i].at("queue_id");
      queue_ids.push_back(queue);
      product_of_queue[queue] = products[i];
      market.photos_of_queue[queue] = photos[i];
    }

    sqlite3* db = nullptr;
    BOOST_REQUIRE(sqlite3_open_v2(env.db().c_str(), &db, SQLITE_OPEN_READONLY, nullptr) ==
                  SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    KillPlan plan(seed);
    Extension extension(env, market, plan, db, plan.coin(50));
    extension.run_to_completion(queue_ids.size());

    std::ostringstream kills;
    for (int p = 0; p < kKillPoints; ++p) kills << kKillNames[p] << ": " << plan.done[p] << "; ";
    BOOST_TEST_MESSAGE(
        "kills: " << plan.kills() << " (" << kills.str()
                  << ") marketplace repeats: " << market.repeats
                  << ", kept results sent to a new host: " << extension.kept_results_sent()
                  << ", steps leased with a result: " << extension.steps_leased_with_a_result()
                  << ", kept results forgotten by a browser restart: " << extension.forgotten());
    // All 40 kills happened: the run went through every kill point, not around them.
    BOOST_TEST(plan.finished(), "only " << plan.kills() << " kills happened: " << kills.str());

    // FIFO: the marketplace saw the queues one after the other, in publish order.
    BOOST_TEST(std::is_sorted(market.call_order.begin(), market.call_order.end()),
               "steps of a later queue ran before an earlier queue completed");

    // Through the CLI, as the seller sees it.
    json queues = cli_json(env, {"queues", "--json"});
    BOOST_REQUIRE_EQUAL(queues.size(), queue_ids.size());
    for (const auto& q : queues) {
      BOOST_TEST_CONTEXT("queue " << q["id"]) {
        BOOST_TEST(q["status"] == "completed");
        BOOST_TEST(q["progress"]["done"] == q["progress"]["total"]);
      }
    }
    json listings = cli_json(env, {"listings", "--json"});
    BOOST_REQUIRE_EQUAL(listings.size(), products.size());
    std::set<int64_t> listed_products;
    for (int64_t queue : queue_ids) {
      BOOST_TEST_CONTEXT("queue " << queue) {
        json detail = cli_json(env, {"queue", std::to_string(queue), "--json"});
        const auto& want = market.photos_of_queue.at(queue);
        // Every step, once, each a success: nothing lost, nothing doubled.
        std::vector<std::string> steps;
        for (const auto& t : detail["tasks"]) {
          BOOST_TEST(t["status"] == "success", "task " << t["id"] << " is " << t["status"]);
          steps.push_back(t["step"]);
        }
        std::vector<std::string> expected;
        for (size_t i = 1; i <= want.size(); ++i)
          expected.push_back("upload_photo_" + std::to_string(i));
        expected.push_back("create_draft");
        expected.push_back("complete_draft");
        BOOST_TEST(steps == expected, boost::test_tools::per_element());

        // One photo id per photo, each one the marketplace issued for that photo.
        const json& acc = detail["accumulated_data"];
        BOOST_REQUIRE_EQUAL(acc["photo_ids"].size(), want.size());
        for (size_t i = 0; i < want.size(); ++i) {
          int64_t id = acc["photo_ids"][i];
          BOOST_TEST((market.photo_owner.contains(id) &&
                      market.photo_owner[id] == std::make_pair(queue, static_cast<int>(i + 1))),
                     "photo id " << id << " is not the marketplace's id for photo " << i + 1);
        }
        int64_t draft = acc["draft_id"];
        BOOST_TEST(market.draft_owner[draft] == queue);
        int64_t item = acc["vinted_id"];
        BOOST_TEST(
            (market.items.contains(item) && market.items[item] == std::make_pair(queue, draft)),
            "item " << item << " was not created from this queue's draft " << draft);

        // Its listing: published once, with the item's id and url.
        int64_t product = product_of_queue.at(queue);
        int found = 0;
        for (const auto& l : listings) {
          if (l["product_id"] != product) continue;
          ++found;
          BOOST_TEST(l["status"] == "published");
          BOOST_TEST(l["remote_id"] == std::to_string(item));
          BOOST_TEST(l["url"] == "https://www.vinted.fr/items/" + std::to_string(item));
        }
        BOOST_TEST(found == 1);
        listed_products.insert(product);
      }
    }
    BOOST_TEST(listed_products.size() == products.size());

    // Directly in SQLite.
    auto integrity = rows(db, "PRAGMA integrity_check");
    BOOST_TEST((integrity.size() == 1 && integrity[0][0] == "ok"), "integrity_check failed");
    BOOST_TEST(rows(db,
                    "SELECT id, status FROM plugin_tasks WHERE status != 'success'"
                    " OR lease_owner IS NOT NULL")
                   .empty(),
               "a step not finished, or still leased");
    BOOST_TEST(rows(db,
                    "SELECT queue_id, step FROM plugin_tasks GROUP BY queue_id, step"
                    " HAVING COUNT(*) > 1")
                   .empty(),
               "a step generated twice");
    BOOST_TEST(rows(db,
                    "SELECT task_id FROM task_attempts WHERE outcome = 'success'"
                    " GROUP BY task_id HAVING COUNT(*) > 1")
                   .empty(),
               "a step applied twice");
    BOOST_TEST(rows(db,
                    "SELECT product_id FROM listings GROUP BY product_id, platform"
                    " HAVING COUNT(*) > 1 OR MIN(status) != 'published'")
                   .empty());
    // Every hand-out, in order, belongs to a queue no older than the previous one's.
    auto handouts =
        rows(db,
             "SELECT q.position FROM task_attempts a JOIN plugin_tasks t ON t.id = a.task_id"
             " JOIN plugin_queue q ON q.id = t.queue_id ORDER BY a.id");
    std::vector<int64_t> positions;
    for (const auto& r : handouts) positions.push_back(std::stoll(r[0]));
    BOOST_TEST(std::is_sorted(positions.begin(), positions.end()), "hand-outs out of FIFO order");
    // One success row per step; every acknowledged step among them.
    size_t steps = 0;
    for (const auto& p : photos) steps += p.size() + 2;
    auto successes = rows(db, "SELECT task_id FROM task_attempts WHERE outcome = 'success'");
    BOOST_TEST(successes.size() == steps);
    std::set<int64_t> succeeded;
    for (const auto& r : successes) succeeded.insert(std::stoll(r[0]));
    for (int64_t task : extension.acknowledged())
      BOOST_TEST(succeeded.contains(task), "acknowledged task " << task << " has no success");
    sqlite3_close(db);
  }
}

BOOST_AUTO_TEST_SUITE_END()

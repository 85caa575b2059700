// The queue's transitions in store/: each is one guarded statement that moves
// a row only from the state it names, whatever another connection did to it
// in the meantime.
#include <boost/test/unit_test.hpp>

#include "store/migrations.h"
#include "store/queues.h"
#include "store/tasks.h"
#include "test_support.h"
#include "util/clock.h"

using namespace stoflow;
using namespace stoflow::store;
using stoflow::testing::TempDir;

namespace {

struct TwoConnections {
  TempDir dir;
  Database first{dir / "s.db"};
  Database second{dir / "s.db"};
  TaskStore tasks{first};
  TaskStore other_tasks{second};
  QueueStore queues{first};
  QueueStore other_queues{second};

  TwoConnections() { migrate(first); }

  QueueRecord queued_operation() {
    QueueRecord queue;
    queue.platform = "testshop";
    queue.operation = "publish_product";
    queue.position = queues.next_position();
    return queues.insert(queue, now_iso());
  }

  int64_t step_of(const QueueRecord& queue, const std::string& step) {
    NewTask task;
    task.queue_id = queue.id;
    task.platform = queue.platform;
    task.step = step;
    task.http_method = "POST";
    task.path = "/items";
    task.body_kind = "json";
    task.payload = "{}";
    task.position = queue.position;
    return tasks.insert(task, now_iso());
  }

  std::string status_of(int64_t task_id) { return to_string(tasks.find(task_id)->status); }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(queue_store, TwoConnections)

BOOST_AUTO_TEST_CASE(a_step_is_leased_only_while_pending) {
  int64_t id = step_of(queued_operation(), "create");
  TaskRecord leased = tasks.lease(id, "a", now_ms() + 1000, now_ms());
  BOOST_TEST(leased.held_by("a"));
  BOOST_TEST(leased.attempt() == 1);
  BOOST_CHECK_THROW(other_tasks.lease(id, "b", now_ms() + 1000, now_ms()), StaleTransition);
  BOOST_TEST(tasks.find(id)->held_by("a"));
}

// The owner read the step as its own, then lost it (its lease expired and the
// step went to another connection): its late completion changes nothing.
BOOST_AUTO_TEST_CASE(a_completion_by_a_connection_that_lost_the_step_is_refused) {
  int64_t id = step_of(queued_operation(), "create");
  TaskRecord as_seen_by_a = tasks.lease(id, "a", now_ms() + 1000, now_ms());

  TaskRecord lost = *other_tasks.find(id);
  other_tasks.requeue(lost, {1, "lease lost", 0});
  other_tasks.lease(id, "b", now_ms() + 1000, now_ms());

  BOOST_CHECK_THROW(tasks.succeed(as_seen_by_a, "{}", now_iso()), StaleTransition);
  BOOST_CHECK_THROW(tasks.fail(as_seen_by_a, 3, "late", now_iso()), StaleTransition);
  BOOST_CHECK_THROW(tasks.requeue(as_seen_by_a, {1, "late", std::nullopt}), StaleTransition);
  TaskRecord now_held = *tasks.find(id);
  BOOST_TEST(now_held.held_by("b"));
  BOOST_TEST(now_held.retry_count == 1);
}

// Two connections both read the step in flight; the first to write wins and
// the second one's transaction rolls back whole.
BOOST_AUTO_TEST_CASE(of_two_racing_completions_only_the_first_lands) {
  int64_t id = step_of(queued_operation(), "create");
  tasks.lease(id, "a", now_ms() + 1000, now_ms());
  TaskRecord seen_first = *tasks.find(id);
  TaskRecord seen_second = *other_tasks.find(id);

  tasks.succeed(seen_first, R"({"id": 1})", now_iso());
  {
    Transaction tx(second);
    other_tasks.close_attempt(id, {"failure", std::nullopt, "late", std::nullopt, std::nullopt},
                              now_iso());
    BOOST_CHECK_THROW(other_tasks.fail(seen_second, 3, "late", now_iso()), StaleTransition);
  }  // rolled back: the attempt the loser closed is open again
  BOOST_TEST(status_of(id) == "success");
  auto attempts = first.query("SELECT COUNT(*) FROM task_attempts WHERE finished_at IS NOT NULL");
  attempts.step();
  BOOST_TEST(attempts.int64(0) == 0);
}

BOOST_AUTO_TEST_CASE(operations_move_only_from_the_states_their_transitions_name) {
  QueueRecord queue = queued_operation();
  BOOST_CHECK_THROW(queues.advance(queue.id, {{"id", 1}}, {"confirm", 2}, now_iso()),
                    StaleTransition);  // not started yet
  BOOST_CHECK_THROW(queues.resume(queue.id, QueueStatus::kQueued, now_iso()), StaleTransition);
  BOOST_CHECK_THROW(queues.requeue(queue.id, queues.next_position(), now_iso()),
                    StaleTransition);  // only failed or cancelled operations are retried
  queues.start(queue.id, "create", now_iso());
  BOOST_CHECK_THROW(queues.start(queue.id, "create", now_iso()), StaleTransition);
  queues.advance(queue.id, {{"id", 1}}, {"confirm", 2}, now_iso());

  other_queues.cancel(queue.id, "cancelled by the seller", now_iso());
  BOOST_CHECK_THROW(queues.complete(queue.id, {{"id", 1}}, now_iso()), StaleTransition);
  BOOST_CHECK_THROW(queues.pause(queue.id, "session expired", now_iso()), StaleTransition);
  BOOST_CHECK_THROW(queues.cancel(queue.id, "again", now_iso()), StaleTransition);
  QueueRecord cancelled = queues.get(queue.id);
  BOOST_TEST(to_string(cancelled.status) == std::string("cancelled"));
  BOOST_TEST(cancelled.accumulated == nlohmann::json({{"id", 1}}));

  queues.requeue(queue.id, queues.next_position(), now_iso());
  BOOST_TEST(to_string(queues.get(queue.id).status) == std::string("queued"));
}

BOOST_AUTO_TEST_SUITE_END()

// A damaged database, one written by a newer stoflow-host, and the lock files of killed hosts,
// all through the real binary: damage is reported as damage by every front end (never as a
// schema version), doctor tells each case apart without changing the file, the salvage it
// prints really works with the sqlite3 shell, and hosts killed with SIGKILL leave no lock file.
#include <httplib.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "harness.h"
#include "newest_migration.h"
#include "windows_run.h"

using namespace stoflow::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr const char* kDamaged = "the database is damaged: ";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}

// One integer from the database, read the way any SQLite client would.
int64_t db_integer(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  BOOST_REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  BOOST_REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
  BOOST_REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
  int64_t value = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return value;
}

using stoflow::testing::kNewestSchema;
using stoflow::testing::kUndoNewestMigration;

void db_exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  BOOST_REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* error = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  std::string message = error ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  BOOST_REQUIRE_MESSAGE(rc == SQLITE_OK, sql << ": " << message);
}

// Where a table or index starts in the file: (root page - 1) * page size.
int64_t page_offset(const std::string& path, const std::string& object) {
  int64_t page_size = db_integer(path, "PRAGMA page_size");
  int64_t root =
      db_integer(path, "SELECT rootpage FROM sqlite_master WHERE name = '" + object + "'");
  return (root - 1) * page_size;
}

// dd if=... of=path bs=1 seek=offset conv=notrunc
void overwrite(const std::string& path, int64_t offset, const std::string& bytes) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  BOOST_REQUIRE(file);
  file.seekp(offset);
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  BOOST_REQUIRE(file);
}

// Random bytes over the cell area at the end of the page that holds schema_migrations: both of
// its rows, which the old host read as "schema version 316" and the like.
void damage_schema_migrations(const std::string& path, unsigned seed) {
  int64_t page_size = db_integer(path, "PRAGMA page_size");
  int64_t end = page_offset(path, "schema_migrations") + page_size;
  overwrite(path, end - 120, random_bytes(120, seed));
}

// A b-tree page header no SQLite accepts: every read of that table or index fails with
// "database disk image is malformed".
void damage_page_header(const std::string& path, const std::string& object) {
  overwrite(path, page_offset(path, object), std::string("\x0d\xff\xff\xff\xff\xff\xff\xff", 8));
}

// The bytes of the database and of its -wal (empty when absent), to prove nothing was changed.
std::string snapshot(const std::string& path) {
  std::string state = fs::exists(path) ? read_file(path) : "";
  std::string wal = path + "-wal";
  return state + "|wal|" + (fs::exists(wal) ? read_file(wal) : "");
}

// A product and its queued publication, the database as SQLite leaves it after the last
// connection closed: every page in the file, no -wal.
std::string settled_database(const HostEnv& env) {
  int64_t product = env.product_with_photos("Coat", {600});
  auto r = env.cli({"publish", "vinted", std::to_string(product)});
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  BOOST_REQUIRE(!fs::exists(env.db() + "-wal"));
  return env.db();
}

json doctor_json(const HostEnv& env, int expected_exit) {
  auto r = env.cli({"doctor", "--json", "--browser", "firefox"});
  BOOST_REQUIRE_MESSAGE(r.exit_code == expected_exit, "doctor exited " << r.exit_code << "\n"
                                                                       << r.out << r.err);
  return json::parse(r.out)["database"];
}

std::string fix_line(const json& problem, const std::string& prefix) {
  std::istringstream lines(problem["fix"].get<std::string>());
  for (std::string line; std::getline(lines, line);) {
    if (starts_with(line, prefix)) return line;
  }
  BOOST_FAIL("no line starting with " << prefix << " in the fix: " << problem["fix"]);
  return "";
}

CommandResult shell(const std::string& command, std::map<std::string, std::string> env) {
  const char* path = std::getenv("PATH");
  env["PATH"] = host_binary().parent_path().string() + ":" + (path ? path : "/usr/bin:/bin");
  return run_program({"/bin/sh", "-c", command}, env, true);
}

std::vector<std::string> lock_files(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    names.push_back(it->path().filename().string());
  }
  return names;
}

bool has_lock_of(const std::vector<std::string>& names, pid_t pid) {
  std::string prefix = "p" + std::to_string(pid) + "-";
  return std::any_of(names.begin(), names.end(),
                     [&](const std::string& n) { return starts_with(n, prefix); });
}

json hello(HostProcess& host) {
  return host.result_of("hello", {{"client", "damage-test"}, {"browser", "chrome"}});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(database_damage)

// Defect 5: random bytes in the page of schema_migrations made every command say "schema version
// 13 ... install a newer stoflow-host". Several seeds: the garbage reads as a huge version, a
// small one, or none at all (then the old host even tried to run migration 1 again).
BOOST_AUTO_TEST_CASE(
    damage_in_the_page_of_schema_migrations_is_reported_as_damage,
    *not_yet_on_windows("doctor reads POSIX browser registrations, not the Windows registry")) {
  HostEnv env;
  std::string db = settled_database(env);
  std::string clean = read_file(db);
  for (unsigned seed = 1; seed <= 8; ++seed) {
    BOOST_TEST_CONTEXT("seed " << seed) {
      write_file(db, clean);
      damage_schema_migrations(db, seed);
      for (const auto& command : std::vector<std::vector<std::string>>{
               {"queues"}, {"products", "list"}, {"publish", "vinted", "1"}}) {
        auto r = env.cli(command);
        BOOST_TEST(r.exit_code == 1, command[0]);
        BOOST_TEST(starts_with(r.err, std::string("stoflow-host: ") + kDamaged), r.err);
        BOOST_TEST(contains(r.err, "stoflow-host doctor"), r.err);
        BOOST_TEST(!contains(r.err, "schema version"), r.err);
        BOOST_TEST(!contains(r.err, "already exists"), r.err);
      }
      std::string before = snapshot(db);
      json report = doctor_json(env, 1);
      BOOST_TEST(report["state"] == "damaged");
      BOOST_TEST(report["usable"] == false);
      BOOST_TEST(report["schema_version"].is_null());
      BOOST_TEST(report["integrity"]["intact"] == false);
      BOOST_TEST(!report["integrity"]["damage"].empty());
      BOOST_REQUIRE(report["problems"].size() == 1u);
      BOOST_TEST(report["problems"][0]["code"] == "database_damaged");
      BOOST_TEST(starts_with(report["problems"][0]["message"], kDamaged));
      BOOST_TEST(snapshot(db) == before, "doctor changed the database");
    }
  }
}

// The fix doctor prints for a damaged database, run as printed with the sqlite3 shell: the
// product survives, and the host accepts the salvaged file (recording its lost schema rows).
BOOST_AUTO_TEST_CASE(
    the_salvage_doctor_prints_works,
    *not_yet_on_windows("doctor reads POSIX browser registrations, not the Windows registry")) {
  HostEnv env;
  std::string db = settled_database(env);
  damage_schema_migrations(db, 3);
  json problem = doctor_json(env, 1)["problems"][0];
  BOOST_TEST(contains(problem["fix"], "restore your latest backup"));

  auto salvage = shell(fix_line(problem, "(umask 077"), env.env);
  BOOST_REQUIRE_MESSAGE(salvage.exit_code == 0, salvage.out + salvage.err);
  auto check = shell(fix_line(problem, "STOFLOW_DB="), env.env);
  BOOST_TEST(check.exit_code == 0, check.out + check.err);
  BOOST_TEST(contains(check.out, "database: ok"), check.out);
  auto salvaged_env = env.env;
  salvaged_env["STOFLOW_DB"] = db + ".salvaged";
  auto salvaged_report = run_host_cli({"doctor", "--json", "--browser", "firefox"}, salvaged_env);
  BOOST_REQUIRE(salvaged_report.exit_code == 0);
  json salvaged = json::parse(salvaged_report.out)["database"];
  BOOST_TEST(salvaged["state"] == "unrecorded");
  BOOST_TEST(salvaged["schema_version"] == kNewestSchema);
  BOOST_TEST(salvaged["mode"] == "0600");
  BOOST_TEST(salvaged["queues"]["queued"] == 1);

  auto in_place = shell(fix_line(problem, "rm -f "), env.env);
  BOOST_REQUIRE_MESSAGE(in_place.exit_code == 0, in_place.out + in_place.err);
  auto products = env.cli({"products", "list", "--json"});
  BOOST_REQUIRE_MESSAGE(products.exit_code == 0, products.err);
  BOOST_TEST(json::parse(products.out).size() == 1u);
  json healed = doctor_json(env, 0);
  BOOST_TEST(healed["state"] == "ok");
  BOOST_TEST(healed["schema_version"] == kNewestSchema);
  BOOST_TEST(db_integer(db, "SELECT COUNT(*) FROM schema_migrations") == kNewestSchema);
}

// Defect 6a: a damaged index that every command reads (the in-flight index, read at start-up to
// recover dead hosts), which doctor used to call "database ok. Nothing to fix."
BOOST_AUTO_TEST_CASE(
    a_database_every_command_fails_on_is_not_ok_for_doctor,
    *not_yet_on_windows("doctor reads POSIX browser registrations, not the Windows registry")) {
  HostEnv env;
  std::string db = settled_database(env);
  damage_page_header(db, "plugin_tasks_in_flight");
  auto r = env.cli({"queues"});
  BOOST_TEST(r.exit_code == 1);
  BOOST_TEST(starts_with(r.err, std::string("stoflow-host: ") + kDamaged), r.err);
  BOOST_TEST(contains(r.err, "database disk image is malformed"), r.err);

  json report = doctor_json(env, 1);
  BOOST_TEST(report["state"] == "damaged");
  BOOST_TEST(report["problems"][0]["code"] == "database_damaged");
  auto text = env.cli({"doctor", "--browser", "firefox"});
  BOOST_TEST(text.exit_code == 1);
  BOOST_TEST(contains(text.out, "database: BAD"), text.out);
  BOOST_TEST(contains(text.out, "sqlite3 -readonly"), text.out);
  BOOST_TEST(!contains(text.out, "Nothing to fix"), text.out);
}

// The same words from the command line, the browser's stdio JSON-RPC and the HTTP API, when a page
// only some requests read is damaged (the host starts, then meets it).
BOOST_AUTO_TEST_CASE(every_front_end_says_the_database_is_damaged,
                     *not_yet_on_windows("serve (the HTTP server) is not built for Windows")) {
  HostEnv env;
  std::string db = settled_database(env);
  damage_page_header(db, "products");

  auto cli = env.cli({"products", "list"});
  BOOST_TEST(cli.exit_code == 1);
  BOOST_TEST(starts_with(cli.err, std::string("stoflow-host: ") + kDamaged), cli.err);

  {
    HostProcess host(env.env);
    hello(host);
    json reply = host.call("products.list");
    BOOST_REQUIRE_MESSAGE(reply.contains("error"), reply.dump());
    BOOST_TEST(reply["error"]["code"] == -32603);
    BOOST_TEST(starts_with(reply["error"]["message"], kDamaged), reply.dump());
    BOOST_TEST(reply["error"]["data"]["reason"] == "database_damaged");
  }

  ServeProcess serve(env);
  httplib::Client client("127.0.0.1", serve.port());
  auto response = client.Get("/api/products", {{"Authorization", "Bearer " + serve.token()}});
  BOOST_REQUIRE(response);
  BOOST_TEST(response->status == 500);
  json error = json::parse(response->body)["error"];
  BOOST_TEST(starts_with(error["message"], kDamaged), response->body);
  BOOST_TEST(error["data"]["reason"] == "database_damaged");
}

// Defect 6c: a database from a newer schema is named as such (and only once it is known intact),
// by the commands and by doctor, which fails; neither touches it.
BOOST_AUTO_TEST_CASE(
    a_newer_schema_is_refused_and_doctor_says_so,
    *not_yet_on_windows("doctor reads POSIX browser registrations, not the Windows registry")) {
  HostEnv env;
  std::string db = settled_database(env);
  db_exec(db,
          "INSERT INTO schema_migrations (version, name, applied_at)"
          " VALUES (99, 'from the future', '2030-01-01T00:00:00Z')");
  std::string before = snapshot(db);
  auto r = env.cli({"queues"});
  BOOST_TEST(r.exit_code == 1);
  BOOST_TEST(contains(r.err, "schema version 99"), r.err);
  BOOST_TEST(contains(r.err, "install the newer stoflow-host"), r.err);
  BOOST_TEST(!contains(r.err, "damaged"), r.err);

  json report = doctor_json(env, 1);
  BOOST_TEST(report["state"] == "newer");
  BOOST_TEST(report["schema_version"] == 99);
  BOOST_TEST(report["binary_schema_version"] == kNewestSchema);
  BOOST_TEST(report["integrity"]["intact"] == true);
  BOOST_REQUIRE(report["problems"].size() == 1u);
  BOOST_TEST(report["problems"][0]["code"] == "database_newer");
  BOOST_TEST(contains(report["problems"][0]["message"], "written by a newer stoflow-host"));
  auto text = env.cli({"doctor", "--browser", "firefox"});
  BOOST_TEST(text.exit_code == 1);
  BOOST_TEST(contains(text.out, "schema  version 99, newer than this stoflow-host's " +
                                    std::to_string(kNewestSchema)),
             text.out);
  BOOST_TEST(snapshot(db) == before, "the newer database was changed");
}

// Defect 6: doctor copes with every kind of file without changing it, and its verdict on the
// schema matches what the host then does.
BOOST_AUTO_TEST_CASE(
    doctor_copes_with_any_file_and_changes_none,
    *not_yet_on_windows("doctor reads POSIX browser registrations, not the Windows registry")) {
  HostEnv env;
  std::string db = env.db();
  json missing = doctor_json(env, 0);
  BOOST_TEST(missing["state"] == "missing");
  BOOST_TEST(!fs::exists(db));

  fs::create_directories(fs::path(db).parent_path());
  write_file(db, "");
  ::chmod(db.c_str(), 0600);
  json empty = doctor_json(env, 0);
  BOOST_TEST(empty["state"] == "empty");
  BOOST_TEST(empty["problems"].empty());
  BOOST_TEST(fs::file_size(db) == 0u);

  write_file(db, random_bytes(5000, 7));
  std::string garbage = snapshot(db);
  json not_db = doctor_json(env, 1);
  BOOST_TEST(not_db["state"] == "not_a_database");
  BOOST_TEST(not_db["problems"][0]["code"] == "not_a_database");
  BOOST_TEST(snapshot(db) == garbage);
  auto refused = env.cli({"queues"});
  BOOST_TEST(refused.exit_code == 1);
  BOOST_TEST(starts_with(refused.err, std::string("stoflow-host: ") + kDamaged), refused.err);
  BOOST_TEST(contains(refused.err, "file is not a database"), refused.err);
  BOOST_TEST(snapshot(db) == garbage, "the host wrote into a file that is not a database");

  // An older schema (migration 2 undone): doctor says it will be migrated, and it is.
  fs::remove(db);
  settled_database(env);
  db_exec(db, kUndoNewestMigration);
  std::string older_bytes = snapshot(db);
  json older = doctor_json(env, 0);
  BOOST_TEST(older["state"] == "older");
  BOOST_TEST(older["schema_version"] == kNewestSchema - 1);
  BOOST_TEST(snapshot(db) == older_bytes, "doctor migrated the database");
  auto text = env.cli({"doctor", "--browser", "firefox"});
  BOOST_TEST(contains(text.out, "migrated the next time the host opens it"), text.out);
  BOOST_REQUIRE(env.cli({"queues"}).exit_code == 0);
  BOOST_TEST(doctor_json(env, 0)["state"] == "ok");
}

// A host killed with SIGKILL leaves its -wal (and its last commits in it) behind: doctor reads
// them read-only, without checkpointing or removing the -wal.
BOOST_AUTO_TEST_CASE(
    doctor_reads_a_wal_left_by_a_killed_host_without_touching_it,
    *not_yet_on_windows("doctor reads POSIX browser registrations, not the Windows registry")) {
  HostEnv env;
  int64_t product = env.product_with_photos("wal", {700});
  HostProcess host(env.env);
  hello(host);
  host.result_of("products.publish", {{"platform", "vinted"}, {"product_id", product}});
  host.kill_hard();
  host.wait_exit(5s);
  BOOST_REQUIRE(fs::exists(env.db() + "-wal"));
  BOOST_REQUIRE(fs::file_size(env.db() + "-wal") > 0u);
  std::string before = snapshot(env.db());
  json report = doctor_json(env, 0);
  BOOST_TEST(report["state"] == "ok");
  BOOST_TEST(report["integrity"]["intact"] == true);
  BOOST_TEST(report["queues"]["queued"] == 1);  // committed in the -wal only
  BOOST_TEST(snapshot(env.db()) == before, "doctor changed the database or its -wal");
  BOOST_TEST(fs::exists(env.db() + "-wal"));
}

// The smaller finding: 93 lock files after 220 kills. Each host killed while holding no lease
// must not leave its file in <db>-owners/, and a live host's file (and lease) must survive the
// sweeps the others make.
BOOST_AUTO_TEST_CASE(
    hosts_killed_without_a_lease_leave_no_lock_file,
    *posix_host_only(
        "lock files are named after the Linux pid the test knows; a wine process has another")) {
  HostEnv env;
  int64_t product = env.product_with_photos("locks", {600});
  fs::path owners = fs::weakly_canonical(env.db()).string() + "-owners";

  HostProcess live(env.env);
  hello(live);
  live.result_of("products.publish", {{"platform", "vinted"}, {"product_id", product}});
  json leased = live.result_of("tasks.list")[0];
  auto live_files = lock_files(owners);
  BOOST_REQUIRE(live_files.size() == 1u);
  BOOST_REQUIRE(has_lock_of(live_files, live.pid()));

  for (int round = 0; round < 20; ++round) {
    HostProcess doomed(env.env);
    hello(doomed);  // answered after its start-up sweep
    auto files = lock_files(owners);
    BOOST_TEST(files.size() == 2u, "round " << round << ": " << files.size() << " lock files");
    BOOST_TEST(has_lock_of(files, live.pid()), "round " << round);
    BOOST_TEST(has_lock_of(files, doomed.pid()), "round " << round);
    doomed.kill_hard();  // no lease held: nothing in the database names it
    doomed.wait_exit(5s);
  }
  // Any command sweeps too.
  BOOST_REQUIRE(env.cli({"queues"}).exit_code == 0);
  BOOST_TEST(lock_files(owners) == live_files);

  // The live host kept its lease through all of it.
  json reply = live.call("tasks.result", {{"task_id", leased["id"]},
                                          {"success", true},
                                          {"http_status", 200},
                                          {"result", vinted_response(leased)}});
  BOOST_TEST(reply.contains("result"), reply.dump());
}

BOOST_AUTO_TEST_SUITE_END()

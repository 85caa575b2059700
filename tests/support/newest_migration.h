#pragma once
// The newest migration of this binary, and SQL that undoes it exactly (the
// schema text of the version before it): tests of "older", "newer" or
// "unrecorded" schemas name the versions around it. A new migration changes
// these two constants, and nothing else in the tests.
namespace stoflow::testing {

inline constexpr int kNewestSchema = 6;
inline constexpr const char* kUndoNewestMigration =
    "DROP INDEX plugin_tasks_in_flight;"
    " DROP INDEX plugin_tasks_delayed;"
    " CREATE INDEX plugin_tasks_platform ON plugin_tasks (platform, status);"
    " CREATE INDEX plugin_tasks_owner ON plugin_tasks (lease_owner) WHERE lease_owner IS NOT NULL;"
    " CREATE INDEX plugin_tasks_leased ON plugin_tasks (lease_expires_at) WHERE status = "
    "'processing';"
    " CREATE INDEX plugin_tasks_waiting ON plugin_tasks (available_at) WHERE status = 'pending';"
    " CREATE INDEX plugin_queue_active ON plugin_queue (platform, status, position);"
    " DELETE FROM schema_migrations WHERE version = 6";

}  // namespace stoflow::testing

#pragma once
// The newest migration of this binary, and SQL that undoes it exactly (the
// schema text of the version before it): tests of "older", "newer" or
// "unrecorded" schemas name the versions around it. A new migration changes
// these two constants, and nothing else in the tests.
namespace stoflow::testing {

inline constexpr int kNewestSchema = 6;
inline constexpr const char* kUndoNewestMigration =
    "DROP INDEX plugin_tasks_in_flight;"
    " CREATE INDEX plugin_tasks_platform ON plugin_tasks (platform, status);"
    " DROP INDEX plugin_tasks_delayed;"
    " CREATE INDEX plugin_tasks_waiting ON plugin_tasks (available_at) WHERE status = 'pending';"
    " DROP INDEX plugin_tasks_owner;"
    " CREATE INDEX plugin_tasks_owner ON plugin_tasks (lease_owner) WHERE lease_owner IS NOT NULL;"
    " DELETE FROM schema_migrations WHERE version = 6";

}  // namespace stoflow::testing

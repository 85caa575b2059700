#pragma once
// The newest migration of this binary, and SQL that undoes it exactly (the
// schema text of the version before it): tests of "older", "newer" or
// "unrecorded" schemas name the versions around it. A new migration changes
// these two constants, and nothing else in the tests.
namespace stoflow::testing {

inline constexpr int kNewestSchema = 7;
// SQLite >= 3.35 drops a column in place (its CHECK is its own); the index on
// sku must go first.
inline constexpr const char* kUndoNewestMigration =
    "DROP INDEX products_sku;"
    " ALTER TABLE products DROP COLUMN sku;"
    " ALTER TABLE products DROP COLUMN quantity;"
    " ALTER TABLE listings DROP COLUMN out_of_date;"
    " DELETE FROM schema_migrations WHERE version = 7";

}  // namespace stoflow::testing

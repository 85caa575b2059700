#pragma once
#include <optional>

#include "store/database.h"

namespace stoflow::store {

// An intact database written by a newer stoflow-host: refused, never touched.
class DatabaseNewer : public DatabaseError {
 public:
  using DatabaseError::DatabaseError;
};

// schema_migrations lacks the rows of versions below its highest one. Damage,
// unless the tables prove which migrations ran (a salvage by .dump loses the
// rows of a damaged page): then the rows are written again.
class SchemaRowsMissing : public DatabaseDamaged {
 public:
  using DatabaseDamaged::DatabaseDamaged;
};

// Applies every numbered migration the database has not recorded yet, each in
// its own transaction together with its row in schema_migrations. Refuses a
// database written by a newer stoflow-host (DatabaseNewer) once PRAGMA
// quick_check has confirmed that it is intact, and throws DatabaseDamaged when
// it is not: damage must never pass for a version.
void migrate(Database& db);
// The version recorded in schema_migrations (created when missing), read with
// the checks of recorded_schema_version.
int schema_version(Database& db);

// The newest schema version this binary knows.
int latest_schema_version();

// The highest version in schema_migrations, 0 when the table is missing or
// empty. Every row must be one a stoflow-host writes: an integer version in
// [1, INT32_MAX] with a text name, and every version this binary knows up to the
// highest one present under this binary's name for it (migrations are applied
// in order and never renamed). Anything else is damage: throws DatabaseDamaged.
// Reads only, so doctor can use it on its read-only connection.
int recorded_schema_version(sqlite3* db);

// For a database whose schema_migrations has no rows but which holds other
// tables (a database salvaged with sqlite3's .dump after damage loses the rows
// of a damaged table): the version whose schema it holds exactly, object for
// object and statement for statement, or nullopt when it matches none.
std::optional<int> version_of_unrecorded_schema(sqlite3* db);

// Whether the database holds any table, index, view or trigger besides schema_migrations.
bool has_objects_besides_migrations(sqlite3* db);

}  // namespace stoflow::store

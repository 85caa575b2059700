#pragma once
#include "store/database.h"

namespace stoflow::store {

// Applies every numbered migration the database has not recorded yet, each in
// its own transaction together with its row in schema_migrations.
void migrate(Database& db);
int schema_version(Database& db);
// The newest version this binary knows.
int latest_schema_version();

}  // namespace stoflow::store

#ifndef CFIRNSQLITE_H
#define CFIRNSQLITE_H

#include <sqlite3.h>

/// Turns the firing of main-schema triggers on or off for one connection
/// (SQLITE_DBCONFIG_ENABLE_TRIGGER). sqlite3_db_config is variadic, which Swift cannot call.
/// Returns an SQLite result code; on success *enabled_now holds the new setting.
int firn_sqlite3_enable_triggers(sqlite3 *db, int enabled, int *enabled_now);

#endif

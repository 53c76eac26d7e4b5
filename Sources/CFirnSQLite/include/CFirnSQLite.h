#ifndef CFIRNSQLITE_H
#define CFIRNSQLITE_H

#include <sqlite3.h>

/// Turns the firing of main-schema triggers on or off for one connection
/// (SQLITE_DBCONFIG_ENABLE_TRIGGER). sqlite3_db_config is variadic, which Swift cannot call.
/// Returns an SQLite result code; on success *enabled_now holds the new setting.
int firn_sqlite3_enable_triggers(sqlite3 *db, int enabled, int *enabled_now);

/// Sets the calling thread's nice value (Linux: each thread has its own; elsewhere a no-op).
/// The thread id comes from the variadic syscall(2), which Swift cannot call.
/// Returns 0 on success, -1 with errno set otherwise.
int firn_lower_thread_priority(int nice_value);

#endif

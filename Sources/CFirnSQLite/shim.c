#include "CFirnSQLite.h"

int firn_sqlite3_enable_triggers(sqlite3 *db, int enabled, int *enabled_now) {
    return sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, enabled, enabled_now);
}

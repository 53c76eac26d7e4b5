#include "CFirnSQLite.h"

int firn_sqlite3_enable_triggers(sqlite3 *db, int enabled, int *enabled_now) {
    return sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, enabled, enabled_now);
}

#if defined(__linux__)
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

int firn_lower_thread_priority(int nice_value) {
    pid_t tid = (pid_t)syscall(SYS_gettid);
    return setpriority(PRIO_PROCESS, (id_t)tid, nice_value);
}
#else
int firn_lower_thread_priority(int nice_value) {
    (void)nice_value;
    return 0;
}
#endif

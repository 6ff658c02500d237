/* apply.h - carrying a plan out on Windows (apply_win.c); other hosts get
 * a fail-closed stub (apply_stub.c). */
#ifndef CSB_WINACL_APPLY_H
#define CSB_WINACL_APPLY_H

#include "cJSON.h"
#include "csb_base.h"

/* Applies `plan` (re-checking every precondition it recorded), then runs
 * `cmd` as the sandbox identity and returns its exit status. When csb
 * itself fails (before or after the command), *failed is set and the
 * return value is a csb exit code with err describing the failure; every
 * change made before a failure is rolled back. `fs_root` maps the paths
 * of the plan like --fs-root (NULL: the real file system). */
int wa_apply(const cJSON *plan, const char *fs_root, char *const *cmd, int *failed,
             csb_error *err);

#endif /* CSB_WINACL_APPLY_H */

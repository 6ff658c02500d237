/* simulate.h - file-system effects of a plan on a fixture tree (see
 * simulate.c). */
#ifndef CSB_WINACL_SIMULATE_H
#define CSB_WINACL_SIMULATE_H

#include "cJSON.h"
#include "csb_base.h"
#include "winfs.h"

/* Applies the plan's directories, capability SID record, deny-read state
 * and setup marker to `fs`, logging one line per change to `log`. Returns
 * 0, or the exit code with err set: 65 a malformed plan, 69 a stale one
 * (the record or the state is not what the plan was made from; nothing
 * changed), 71 a file-system error. */
int wa_simulate(const cJSON *plan, wfs *fs, csb_buf *log, csb_error *err);

#endif /* CSB_WINACL_SIMULATE_H */

/* simulate.h - file-system effects of a plan on a fixture tree (see
 * simulate.c). */
#ifndef CSB_WINACL_SIMULATE_H
#define CSB_WINACL_SIMULATE_H

#include "cJSON.h"
#include "csb_base.h"
#include "winfs.h"

/* Applies the plan's directories, capability SID record, deny-read state
 * and setup marker to `fs`, logging one line per change to `log`. */
int wa_simulate(const cJSON *plan, wfs *fs, csb_buf *log, csb_error *err);

#endif /* CSB_WINACL_SIMULATE_H */

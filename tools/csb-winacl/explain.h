/* explain.h - human-readable rendering of a csb-winacl plan. */
#ifndef CSB_WINACL_EXPLAIN_H
#define CSB_WINACL_EXPLAIN_H

#include "cJSON.h"
#include "csb_base.h"

/* The plan as text (lines ending in '\n'). Caller frees. */
char *wa_explain(const cJSON *plan);

#endif /* CSB_WINACL_EXPLAIN_H */

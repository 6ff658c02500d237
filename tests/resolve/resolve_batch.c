/* resolve_batch.c - csb-resolve's tool function (rs_main) behind the batch
 * driver of the Wine suite (tests/lib/winbatch.h). Test-only. */
#include "resolve.h"
#include "winbatch.h"

int main(int argc, char **argv) { return csb_winbatch_main(argc, argv, rs_main); }

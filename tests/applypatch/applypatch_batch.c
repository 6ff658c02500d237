/* applypatch_batch.c - csb-applypatch's tool function (ap_main) behind the
 * batch driver of the Wine suite (tests/lib/winbatch.h). Test-only. */
#include "applypatch.h"
#include "winbatch.h"

int main(int argc, char **argv) { return csb_winbatch_main(argc, argv, ap_main); }

/* apply_win.c - placeholder */
#include "apply.h"
#if defined(_WIN32)
#include "csb_cli.h"
int wa_apply(const cJSON *plan, const char *fs_root, char *const *cmd, int *failed,
             csb_error *err) {
  (void)plan;
  (void)fs_root;
  (void)cmd;
  *failed = 1;
  csb_error_set(err, "not yet");
  return CSB_EXIT_UNAVAILABLE;
}
#else
typedef int csb_winacl_apply_win_unused;
#endif

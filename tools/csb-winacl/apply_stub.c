/* apply_stub.c - `csb-winacl apply` on hosts other than Windows. */
#include "apply.h"

#if !defined(_WIN32)
#include "csb_cli.h"

int wa_apply(const cJSON *plan, const char *fs_root, char *const *cmd, int *failed,
             csb_error *err) {
  (void)plan;
  (void)fs_root;
  (void)cmd;
  *failed = 1;
  csb_error_set(err,
                "applying a plan needs Windows (rule: apply; fix: run csb-winacl.exe apply on the "
                "Windows host, or preview the file-system effects here with `csb-winacl "
                "simulate`)");
  return CSB_EXIT_UNAVAILABLE;
}
#else
typedef int csb_winacl_apply_stub_unused;
#endif

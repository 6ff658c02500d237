/* caps.c - capabilities: dropping every one, and checking that none is left.
 *
 * capget(2)/capset(2) version 3 and the prctl(2) bounding and ambient set
 * operations, with the kernel's structures restated (no libcap).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "csb_bwrap.h"

struct cap_header {
  uint32_t version;
  int pid;
};
struct cap_data {
  uint32_t effective, permitted, inheritable;
};
#define CAP_VERSION_3 0x20080522
#define CAP_BITS 64 /* capget v3 holds 64; prctl says EINVAL past the kernel's last */

int bw_caps_drop_bounding(int cap, csb_error *err) {
  if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0)
    return csb_error_set(err, "prctl(PR_CAPBSET_DROP, %d): %s", cap, strerror(errno));
  return 1;
}

/* Our effective, permitted and inheritable sets into d: 1 when all are
 * empty, 0 when not, -1 when capget fails (errno). (The ambient set is a
 * subset of the permitted one: the kernel keeps it so.) */
static int sets_empty(struct cap_data d[2]) {
  struct cap_header h = {CAP_VERSION_3, 0};
  memset(d, 0xff, 2 * sizeof d[0]);
  if (syscall(SYS_capget, &h, d) != 0) return -1;
  for (int i = 0; i < 2; i++)
    if (d[i].effective || d[i].permitted || d[i].inheritable) return 0;
  return 1;
}

int bw_caps_clear(csb_error *err) {
  struct cap_header h = {CAP_VERSION_3, 0};
  struct cap_data d[2];
  memset(d, 0, sizeof d);
  /* (the ambient set goes with the permitted one) */
  if (syscall(SYS_capset, &h, d) != 0) return csb_error_set(err, "capset: %s", strerror(errno));
  int empty = sets_empty(d);
  if (empty < 0) return csb_error_set(err, "capget: %s", strerror(errno));
  if (!empty)
    return csb_error_set(err, "capabilities survived dropping them (permitted %08x%08x)", d[1].permitted,
                         d[0].permitted);
  return 1;
}

int bw_caps_drop_all(csb_error *err) {
  for (int cap = 0; cap < CAP_BITS; cap++) {
    int in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (in < 0) break; /* past the kernel's last */
    if (in && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EPERM)
      return csb_error_set(err, "prctl(PR_CAPBSET_DROP, %d): %s", cap, strerror(errno));
  }
  return bw_caps_clear(err);
}

int bw_caps_none(void) {
  struct cap_data d[2];
  return sets_empty(d) == 1;
}

int bw_caps_in_bounding(int cap) { return prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != 0; }

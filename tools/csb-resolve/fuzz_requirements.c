/* fuzz_requirements.c - fuzz entry for csb-resolve's requirements reader
 * (rs_requirements_parse, requirements.c): `/etc/csb/requirements.toml`
 * or `--requirements FILE`, with `allowed_sandbox_modes` and the managed
 * `[permissions.filesystem] deny_read` entries.
 *
 * The input is the file's text, read once with POSIX paths (a home) and
 * once with Windows paths (no home). For every input:
 *   - it is accepted, or refused with exit code 65 (TOML) or 78 and a
 *     message that starts with the file's path;
 *   - accepted modes include `read-only`, and their labels are distinct
 *     and as many as the modes allowed;
 *   - accepted deny-read entries are sorted, distinct and absolute, and
 *     the plain paths (no glob) are in normal form;
 *   - the modes and entries written back as a requirements file read back
 *     as the same modes and entries (reading is idempotent: the entries
 *     are already absolute and normal).
 * Any violation aborts. resolve_unit_test replays it over seeds and
 * mutations; fuzzing proper: as fuzz_override.c, with
 * tools/csb-resolve/fuzz_requirements.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "resolve.h"

int csb_fuzz_requirements_one(const uint8_t *data, size_t size);

static void check(int ok) {
  if (!ok) abort();
}

static const char *const mode_names[] = {"read-only", "workspace-write", "danger-full-access",
                                         "external-sandbox"};

/* Appends s as a TOML basic string (the escapes of csb_toml_append_key;
 * s is valid UTF-8: it came from TOML). */
static void put_toml_string(csb_buf *b, const char *s) {
  csb_buf k = {0};
  csb_toml_append_key(&k, s, strlen(s));
  csb_buf_printf(b, k.len > 0 && k.data[0] == '"' ? "%s" : "\"%s\"", k.data);
  csb_buf_free(&k);
}

static void read_once(const rs_ctx *ctx, const char *path, const char *text, size_t len) {
  rs_requirements r;
  memset(&r, 0, sizeof(r));
  r.path = csb_xstrdup(path);
  csb_buf msg = {0};
  int rc = rs_requirements_parse(ctx, text, len, &r, &msg);
  if (rc != 0) {
    check(rc == CSB_EXIT_DATA || rc == CSB_EXIT_CONFIG);
    check(msg.data != NULL && strncmp(msg.data, path, strlen(path)) == 0);
    check(msg.data[strlen(path)] == ':' && msg.data[strlen(path) + 1] != '\0');
    csb_buf_free(&msg);
    rs_requirements_free(&r);
    return;
  }
  check(msg.len == 0);
  size_t n_modes = 0;
  for (size_t k = 0; k < 4; k++) n_modes += r.modes[k] != 0;
  if (r.has_modes) check(r.modes[0] && n_modes == r.modes_order.len);
  if (!r.has_modes) check(n_modes == 0 && r.modes_order.len == 0);
  for (size_t i = 0; i < r.modes_order.len; i++)
    for (size_t j = i + 1; j < r.modes_order.len; j++)
      check(strcmp(r.modes_order.items[i], r.modes_order.items[j]) != 0);
  for (size_t i = 0; i < r.deny_read.len; i++) {
    const char *d = r.deny_read.items[i] + 1;
    if (i > 0) check(strcmp(r.deny_read.items[i - 1], r.deny_read.items[i]) < 0);
    check(r.deny_read.items[i][0] == 'P' || r.deny_read.items[i][0] == 'G');
    check(csb_spath_is_absolute(ctx->style, d));
    if (r.deny_read.items[i][0] == 'P') {
      char *nd = csb_spath_normalize(ctx->style, d);
      check(nd != NULL && strcmp(nd, d) == 0);
      free(nd);
    }
  }

  /* written back and read again */
  {
    csb_buf b = {0};
    if (r.has_modes) {
      csb_buf_puts(&b, "allowed_sandbox_modes = [");
      for (size_t k = 0, n = 0; k < 4; k++)
        if (r.modes[k]) csb_buf_printf(&b, "%s\"%s\"", n++ ? ", " : "", mode_names[k]);
      csb_buf_puts(&b, "]\n");
    }
    if (r.deny_read.len > 0) {
      csb_buf_puts(&b, "[permissions.filesystem]\ndeny_read = [\n");
      for (size_t i = 0; i < r.deny_read.len; i++) {
        put_toml_string(&b, r.deny_read.items[i] + 1); /* after its kind */
        csb_buf_puts(&b, ",\n");
      }
      csb_buf_puts(&b, "]\n");
    }
    rs_requirements again;
    memset(&again, 0, sizeof(again));
    again.path = csb_xstrdup(path);
    csb_buf m2 = {0};
    check(rs_requirements_parse(ctx, b.data ? b.data : "", b.len, &again, &m2) == 0);
    check(again.has_modes == r.has_modes && memcmp(again.modes, r.modes, sizeof(r.modes)) == 0);
    check(again.deny_read.len == r.deny_read.len);
    for (size_t i = 0; i < r.deny_read.len; i++)
      check(strcmp(again.deny_read.items[i], r.deny_read.items[i]) == 0);
    rs_requirements_free(&again);
    csb_buf_free(&m2);
    csb_buf_free(&b);
  }
  csb_buf_free(&msg);
  rs_requirements_free(&r);
}

int csb_fuzz_requirements_one(const uint8_t *data, size_t size) {
  if (size > 64 * 1024) return 0;
  const char *text = (const char *)data;

  rs_ctx posix;
  memset(&posix, 0, sizeof(posix));
  posix.style = CSB_PATH_POSIX;
  posix.cwd = "/work/repo";
  posix.home = "/home/user";
  read_once(&posix, "/etc/csb/requirements.toml", text, size);

  rs_ctx win;
  memset(&win, 0, sizeof(win));
  win.style = CSB_PATH_WINDOWS;
  win.cwd = "C:\\work\\repo";
  win.home = NULL;
  read_once(&win, "C:\\ProgramData\\csb\\requirements.toml", text, size);
  return 0;
}

#ifdef CSB_FUZZ_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return csb_fuzz_requirements_one(data, size);
}
#endif

/* winbatch.c - see winbatch.h. Windows builds only. */
#include "winbatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csb_base.h"
#include "csb_json.h"

#if defined(_WIN32)
#include <windows.h>

static int fail(const char *what, const char *detail) {
  fprintf(stderr, "winbatch: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  return 2;
}

/* Reopens a standard stream on a file (mode "rb" or "wb"). */
static int reopen(FILE *stream, const char *path, const wchar_t *mode) {
  wchar_t *w = csb_os_wide(path);
  int ok = w != NULL && _wfreopen(w, mode, stream) != NULL;
  free(w);
  return ok;
}

static int set_env(const char *name, const char *value) {
  wchar_t *n = csb_os_wide(name);
  wchar_t *v = value ? csb_os_wide(value) : NULL;
  int ok = n != NULL && (value == NULL || v != NULL) && SetEnvironmentVariableW(n, v);
  free(n);
  free(v);
  return ok;
}

static int run_case(const cJSON *c, csb_winbatch_tool tool, int *rc) {
  const char *cwd = NULL, *out = NULL, *err = NULL, *in = NULL;
  const cJSON *env = NULL, *args = NULL;
  if (!csb_json_get_string(c, "cwd", &cwd, NULL) || !csb_json_get_string(c, "stdout", &out, NULL) ||
      !csb_json_get_string(c, "stderr", &err, NULL) || !csb_json_get_object(c, "env", &env, NULL) ||
      !csb_json_get_array(c, "args", &args, NULL))
    return fail("malformed case", NULL);
  const cJSON *jin = csb_json_get(c, "stdin");
  if (cJSON_IsString(jin)) in = jin->valuestring;
  wchar_t *wcwd = csb_os_wide(cwd);
  int cd = wcwd != NULL && SetCurrentDirectoryW(wcwd);
  free(wcwd);
  if (!cd) return fail("cannot change to", cwd);
  for (const cJSON *e = env->child; e != NULL; e = e->next)
    if (!set_env(e->string, cJSON_IsString(e) ? e->valuestring : NULL))
      return fail("cannot set", e->string);
  csb_strv argv;
  csb_strv_init(&argv);
  for (const cJSON *a = args->child; a != NULL; a = a->next) {
    if (!cJSON_IsString(a)) {
      csb_strv_free(&argv);
      return fail("malformed args", NULL);
    }
    csb_strv_push(&argv, a->valuestring);
  }
  fflush(stdout);
  fflush(stderr);
  if (!reopen(stdin, in ? in : "NUL", L"rb") || !reopen(stdout, out, L"wb") ||
      !reopen(stderr, err, L"wb")) {
    csb_strv_free(&argv);
    return 2;
  }
  *rc = tool((int)argv.len, argv.items);
  fflush(stdout);
  fflush(stderr);
  csb_strv_free(&argv);
  return 0;
}

int csb_winbatch_main(int argc, char **argv, csb_winbatch_tool tool) {
  csb_os_init(&argc, &argv);
  if (argc != 3) return fail("usage", "BATCH.exe SPEC RESULTS");
  char *text = NULL;
  size_t len = 0;
  csb_error e;
  if (!csb_read_file(argv[1], (size_t)64 << 20, &text, &len, &e)) return fail(e.msg, NULL);
  cJSON *spec = NULL;
  if (!csb_json_parse(text, len, &spec, &e) || !cJSON_IsArray(spec)) return fail("bad spec", e.msg);
  free(text);
  csb_buf res = {0};
  csb_buf_putc(&res, '[');
  int i = 0;
  for (const cJSON *c = spec->child; c != NULL; c = c->next, i++) {
    int rc = -1;
    if (run_case(c, tool, &rc) != 0) return 2;
    csb_buf_printf(&res, "%s%d", i ? ", " : "", rc);
  }
  csb_buf_puts(&res, "]\n");
  cJSON_Delete(spec);
  wchar_t *w = csb_os_wide(argv[2]);
  FILE *f = w ? _wfopen(w, L"wb") : NULL;
  free(w);
  if (f == NULL || fwrite(res.data, 1, res.len, f) != res.len || fclose(f) != 0)
    return fail("cannot write", argv[2]);
  csb_buf_free(&res);
  return 0;
}

#else

int csb_winbatch_main(int argc, char **argv, csb_winbatch_tool tool) {
  (void)argc;
  (void)argv;
  (void)tool;
  fputs("winbatch: Windows builds only\n", stderr);
  return 2;
}

#endif

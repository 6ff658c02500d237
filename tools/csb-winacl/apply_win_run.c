/* apply_win_run.c - running the command as the sandbox identity.
 *
 * Unelevated backend: a restricted primary token made from this process's
 * own token (DISABLE_MAX_PRIVILEGE | LUA_TOKEN | WRITE_RESTRICTED; the
 * restricting SIDs are the capability SIDs, the logon SID and Everyone, so
 * a write needs a capability grant), a default DACL for pipes, then
 * CreateProcessAsUserW in a kill-on-close job.
 *
 * Elevated backend: CreateProcessWithLogonW starts a copy of csb-winacl
 * (in <csb home>\.sandbox-bin) as the sandbox user; that runner restricts
 * its own token the same way (plus the sandbox user's SID) and runs the
 * command. Reads are the sandbox user's, writes need a capability SID.
 *
 * Both run the command on a private desktop (CreateDesktopW with the
 * plan's DACL and a random name) unless the plan says otherwise. */
#include "apply.h"

#if defined(_WIN32)

#include <windows.h> /* first: the other Win32 headers need it */
#include <aclapi.h>
#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply_win.h"
#include "csb_cli.h"
#include "csb_json.h"
#include "csb_paths.h"
#include "plan.h"

/* ---- command line and environment ------------------------------------------- */

/* Appends one argument quoted so that CommandLineToArgvW gives it back. */
static void quote_arg(csb_buf *b, const char *arg) {
  if (b->len) csb_buf_putc(b, ' ');
  if (arg[0] != '\0' && strpbrk(arg, " \t\n\v\"") == NULL) {
    csb_buf_puts(b, arg);
    return;
  }
  csb_buf_putc(b, '"');
  for (const char *c = arg;; c++) {
    size_t slashes = 0;
    while (*c == '\\') {
      slashes++;
      c++;
    }
    if (*c == '\0') {
      for (size_t i = 0; i < slashes * 2; i++) csb_buf_putc(b, '\\');
      break;
    }
    if (*c == '"') {
      for (size_t i = 0; i < slashes * 2 + 1; i++) csb_buf_putc(b, '\\');
      csb_buf_putc(b, '"');
    } else {
      for (size_t i = 0; i < slashes; i++) csb_buf_putc(b, '\\');
      csb_buf_putc(b, *c);
    }
  }
  csb_buf_putc(b, '"');
}

static wchar_t *command_line(char *const *argv) {
  csb_buf b = {0};
  for (size_t i = 0; argv[i]; i++) quote_arg(&b, argv[i]);
  if (b.data == NULL) csb_buf_puts(&b, "");
  wchar_t *w = wa_wide(b.data);
  csb_buf_free(&b);
  return w;
}

typedef struct envvar {
  wchar_t *text; /* NAME=VALUE */
} envvar;

static int env_cmp(const void *a, const void *b) {
  const wchar_t *x = ((const envvar *)a)->text, *y = ((const envvar *)b)->text;
  /* Windows wants the block sorted by name, case-insensitively. */
  int r = CompareStringOrdinal(x, -1, y, -1, TRUE);
  return r == CSTR_LESS_THAN ? -1 : r == CSTR_GREATER_THAN ? 1 : 0;
}

static int name_eq(const wchar_t *entry, const wchar_t *name) {
  const wchar_t *eq = wcschr(entry + (entry[0] == L'=' ? 1 : 0), L'=');
  size_t n = eq ? (size_t)(eq - entry) : wcslen(entry);
  return n == wcslen(name) && CompareStringOrdinal(entry, (int)n, name, (int)n, TRUE) == CSTR_EQUAL;
}

/* This process's environment with the plan's `env.set` applied and its
 * `env.default` filled in where unset, as a sorted UTF-16 block. */
static wchar_t *env_block(const cJSON *plan) {
  envvar *v = NULL;
  size_t n = 0, cap = 0;
  wchar_t *cur = GetEnvironmentStringsW();
  for (wchar_t *p = cur; p && *p; p += wcslen(p) + 1) {
    v = csb_xgrow(v, &cap, n + 1, sizeof(*v));
    v[n++].text = _wcsdup(p);
  }
  if (cur) FreeEnvironmentStringsW(cur);
  const cJSON *env = cJSON_GetObjectItemCaseSensitive(plan, "env");
  const char *groups[2] = {"set", "default"};
  for (int g = 0; g < 2; g++) {
    const cJSON *obj = cJSON_GetObjectItemCaseSensitive(env, groups[g]);
    for (const cJSON *kv = obj ? obj->child : NULL; kv; kv = kv->next) {
      if (!cJSON_IsString(kv)) continue;
      wchar_t *name = wa_wide(kv->string);
      char *text = csb_xasprintf("%s=%s", kv->string, kv->valuestring);
      wchar_t *wtext = wa_wide(text);
      free(text);
      size_t at = n;
      for (size_t i = 0; i < n; i++)
        if (name_eq(v[i].text, name)) at = i;
      if (at < n && g == 1) {
        free(wtext); /* default: keep the existing value */
      } else if (at < n) {
        free(v[at].text);
        v[at].text = wtext;
      } else {
        v = csb_xgrow(v, &cap, n + 1, sizeof(*v));
        v[n++].text = wtext;
      }
      free(name);
    }
  }
  if (n > 1) qsort(v, n, sizeof(*v), env_cmp);
  size_t total = 1;
  for (size_t i = 0; i < n; i++) total += wcslen(v[i].text) + 1;
  wchar_t *block = csb_xcalloc(total + 1, sizeof(wchar_t));
  size_t at = 0;
  for (size_t i = 0; i < n; i++) {
    size_t l = wcslen(v[i].text);
    memcpy(block + at, v[i].text, l * sizeof(wchar_t));
    at += l + 1;
    free(v[i].text);
  }
  free(v);
  return block;
}

/* ---- tokens ------------------------------------------------------------------ */

static int enable_privilege(HANDLE tok, const wchar_t *name) {
  TOKEN_PRIVILEGES tp;
  tp.PrivilegeCount = 1;
  tp.Privileges[0].Attributes = SE_PRIVILEGE_ENABLED;
  if (!LookupPrivilegeValueW(NULL, name, &tp.Privileges[0].Luid)) return 0;
  return AdjustTokenPrivileges(tok, FALSE, &tp, 0, NULL, NULL) && GetLastError() == ERROR_SUCCESS;
}

static PSID own_logon_sid(HANDLE tok) {
  BYTE buf[8192];
  DWORD n = 0;
  if (!GetTokenInformation(tok, TokenGroups, buf, sizeof buf, &n)) return NULL;
  TOKEN_GROUPS *g = (TOKEN_GROUPS *)buf;
  for (DWORD i = 0; i < g->GroupCount; i++)
    if ((g->Groups[i].Attributes & SE_GROUP_LOGON_ID) == SE_GROUP_LOGON_ID) {
      DWORD l = GetLengthSid(g->Groups[i].Sid);
      PSID c = csb_xmalloc(l);
      CopySid(l, c, g->Groups[i].Sid);
      return c;
    }
  return NULL;
}

/* A write-restricted primary token from this process's token. `sids` are
 * the restricting SIDs, `dacl_sids` get GENERIC_ALL in the default DACL. */
static HANDLE restricted_token(PSID *sids, DWORD n, PSID *dacl_sids, DWORD nd, DWORD *error) {
  HANDLE base = NULL, rt = NULL;
  *error = 0;
  if (!OpenProcessToken(GetCurrentProcess(),
                        TOKEN_DUPLICATE | TOKEN_QUERY | TOKEN_ASSIGN_PRIMARY | TOKEN_ADJUST_DEFAULT |
                            TOKEN_ADJUST_SESSIONID | TOKEN_ADJUST_PRIVILEGES,
                        &base)) {
    *error = GetLastError();
    return NULL;
  }
  SID_AND_ATTRIBUTES *sa = csb_xcalloc(n ? n : 1, sizeof(*sa));
  for (DWORD i = 0; i < n; i++) sa[i].Sid = sids[i];
  if (!CreateRestrictedToken(base, DISABLE_MAX_PRIVILEGE | LUA_TOKEN | WRITE_RESTRICTED, 0, NULL, 0,
                             NULL, n, sa, &rt)) {
    *error = GetLastError();
    rt = NULL;
  }
  free(sa);
  CloseHandle(base);
  if (rt == NULL) return NULL;
  EXPLICIT_ACCESSW *ea = csb_xcalloc(nd ? nd : 1, sizeof(*ea));
  for (DWORD i = 0; i < nd; i++) {
    ea[i].grfAccessPermissions = GENERIC_ALL;
    ea[i].grfAccessMode = GRANT_ACCESS;
    ea[i].grfInheritance = NO_INHERITANCE;
    ea[i].Trustee.TrusteeForm = TRUSTEE_IS_SID;
    ea[i].Trustee.ptstrName = (LPWSTR)dacl_sids[i];
  }
  PACL acl = NULL;
  if (SetEntriesInAclW(nd, ea, NULL, &acl) == ERROR_SUCCESS) {
    TOKEN_DEFAULT_DACL dd = {acl};
    SetTokenInformation(rt, TokenDefaultDacl, &dd, sizeof dd);
    LocalFree(acl);
  }
  free(ea);
  enable_privilege(rt, L"SeChangeNotifyPrivilege");
  return rt;
}

/* The child's start-up: this process's standard handles, on `desktop`
 * (NULL: the caller's). */
static void startup_info(STARTUPINFOW *si, const wchar_t *desktop) {
  memset(si, 0, sizeof *si);
  si->cb = sizeof *si;
  si->lpDesktop = (LPWSTR)desktop;
  si->dwFlags = STARTF_USESTDHANDLES;
  si->hStdInput = GetStdHandle(STD_INPUT_HANDLE);
  si->hStdOutput = GetStdHandle(STD_OUTPUT_HANDLE);
  si->hStdError = GetStdHandle(STD_ERROR_HANDLE);
}

static int run_with_token(HANDLE tok, wchar_t *cmdline, wchar_t *env, const wchar_t *desktop,
                          int *exit_code, DWORD *error) {
  HANDLE job = CreateJobObjectW(NULL, NULL);
  if (job) {
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION li;
    memset(&li, 0, sizeof li);
    li.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    SetInformationJobObject(job, JobObjectExtendedLimitInformation, &li, sizeof li);
  }
  STARTUPINFOW si;
  startup_info(&si, desktop);
  HANDLE std[3] = {si.hStdInput, si.hStdOutput, si.hStdError};
  for (int i = 0; i < 3; i++)
    if (std[i] && std[i] != INVALID_HANDLE_VALUE)
      SetHandleInformation(std[i], HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
  PROCESS_INFORMATION pi;
  memset(&pi, 0, sizeof pi);
  BOOL ok = CreateProcessAsUserW(tok, NULL, cmdline, NULL, NULL, TRUE,
                                 CREATE_UNICODE_ENVIRONMENT | CREATE_SUSPENDED, env, NULL, &si, &pi);
  if (!ok) {
    *error = GetLastError();
    if (job) CloseHandle(job);
    return -1;
  }
  if (job) AssignProcessToJobObject(job, pi.hProcess);
  ResumeThread(pi.hThread);
  WaitForSingleObject(pi.hProcess, INFINITE);
  DWORD code = 1;
  GetExitCodeProcess(pi.hProcess, &code);
  CloseHandle(pi.hThread);
  CloseHandle(pi.hProcess);
  if (job) CloseHandle(job);
  *exit_code = (int)code;
  return 0;
}

/* ---- desktop ----------------------------------------------------------------- */

static char *substitute(applier *A, const char *tmpl) {
  csb_buf b = {0};
  for (const char *c = tmpl; *c;) {
    if (*c == '{') {
      const char *end = strchr(c, '}');
      if (end) {
        char *name = csb_xstrndup(c + 1, (size_t)(end - c - 1));
        PSID sid = wa_principal_sid(A, name);
        char *s = sid ? wa_sid_string(sid) : csb_xstrdup("S-1-0-0");
        csb_buf_puts(&b, s);
        free(s);
        free(name);
        c = end + 1;
        continue;
      }
    }
    csb_buf_putc(&b, *c++);
  }
  if (b.data == NULL) csb_buf_puts(&b, "");
  return csb_buf_steal(&b);
}

static HDESK private_desktop(applier *A, wchar_t **name_out) {
  const cJSON *d = cJSON_GetObjectItemCaseSensitive(A->plan, "desktop");
  *name_out = NULL;
  if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "private"))) return NULL;
  unsigned char r[16];
  if (!wa_random(r, sizeof r)) return NULL;
  char hex[33];
  for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", r[i]);
  char *name = csb_xasprintf("%s%s", wa_str(d, "name_prefix"), hex);
  char *sddl = substitute(A, wa_str(d, "sddl"));
  wchar_t *wsddl = wa_wide(sddl);
  PSECURITY_DESCRIPTOR sd = NULL;
  HDESK desk = NULL;
  if (ConvertStringSecurityDescriptorToSecurityDescriptorW(wsddl, SDDL_REVISION_1, &sd, NULL)) {
    SECURITY_ATTRIBUTES sa = {sizeof sa, sd, FALSE};
    wchar_t *wname = wa_wide(name);
    desk = CreateDesktopW(wname, NULL, NULL, 0, WA_DESKTOP_ALL, &sa);
    if (desk) {
      char *full = csb_xasprintf("Winsta0\\%s", name);
      *name_out = wa_wide(full);
      free(full);
    }
    free(wname);
    LocalFree(sd);
  }
  free(wsddl);
  free(sddl);
  free(name);
  return desk;
}

/* ---- the two launches ---------------------------------------------------------- */

static int launch_unelevated(applier *A, char *const *cmd, const wchar_t *desktop, int *code) {
  const cJSON *tok = cJSON_GetObjectItemCaseSensitive(A->plan, "token");
  PSID sids[64], dsids[64];
  DWORD n = 0, nd = 0;
  const cJSON *rs = cJSON_GetObjectItemCaseSensitive(tok, "restricting_sids");
  for (const cJSON *s = rs ? rs->child : NULL; s && n < 64; s = s->next)
    if ((sids[n] = wa_principal_sid(A, s->valuestring)) != NULL) n++;
  const cJSON *dd = cJSON_GetObjectItemCaseSensitive(tok, "default_dacl_generic_all");
  for (const cJSON *s = dd ? dd->child : NULL; s && nd < 64; s = s->next)
    if ((dsids[nd] = wa_principal_sid(A, s->valuestring)) != NULL) nd++;
  if (n != (DWORD)cJSON_GetArraySize(rs))
    return wa_fail(A, CSB_EXIT_INTERNAL, "a restricting SID of the plan is unknown");
  DWORD err = 0;
  HANDLE rt = restricted_token(sids, n, dsids, nd, &err);
  if (rt == NULL) return wa_fail_win(A, "CreateRestrictedToken", "the current token", err);
  wchar_t *cl = command_line(cmd);
  wchar_t *env = env_block(A->plan);
  int r = run_with_token(rt, cl, env, desktop, code, &err);
  CloseHandle(rt);
  free(cl);
  free(env);
  if (r < 0) {
    A->code = err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND ? CSB_EXIT_NOT_FOUND
                                                                          : CSB_EXIT_CANNOT_EXEC;
    csb_error_set(A->err, "CreateProcessAsUserW failed for `%s`: %lu", cmd[0], (unsigned long)err);
    return -1;
  }
  return 0;
}

/* The runner lives in .sandbox-bin (readable by the sandbox group). */
static wchar_t *install_runner(applier *A) {
  wchar_t self[32768];
  DWORD n = GetModuleFileNameW(NULL, self, 32768);
  if (n == 0 || n >= 32768) return NULL;
  char *dst = csb_winpath_join(A->home, ".sandbox-bin\\csb-winacl-runner.exe");
  wchar_t *w = wa_host_wide(A, dst);
  free(dst);
  if (!CopyFileW(self, w, FALSE) && GetFileAttributesW(w) == INVALID_FILE_ATTRIBUTES) {
    free(w);
    return NULL;
  }
  return w;
}

static int launch_elevated(applier *A, char *const *cmd, const wchar_t *desktop, int *code) {
  wchar_t *runner = install_runner(A);
  if (runner == NULL)
    return wa_fail(A, CSB_EXIT_OSERR, "cannot install the runner into .sandbox-bin: %lu",
                   GetLastError());
  const cJSON *tok = cJSON_GetObjectItemCaseSensitive(A->plan, "token");
  csb_strv argv;
  csb_strv_init(&argv);
  csb_strv_push(&argv, "csb-winacl-runner.exe");
  csb_strv_push(&argv, "__runner");
  const char *lists[2] = {"restricting_sids", "default_dacl_generic_all"};
  const char *flags[2] = {"--restrict", "--dacl"};
  for (int l = 0; l < 2; l++) {
    csb_buf b = {0};
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(tok, lists[l]);
    for (const cJSON *s = arr ? arr->child : NULL; s; s = s->next) {
      if (b.len) csb_buf_putc(&b, ',');
      if (strcmp(s->valuestring, "logon") == 0) {
        csb_buf_puts(&b, "logon"); /* the runner's own logon SID */
        continue;
      }
      PSID sid = wa_principal_sid(A, s->valuestring);
      char *str = sid ? wa_sid_string(sid) : csb_xstrdup("?");
      csb_buf_puts(&b, str);
      free(str);
    }
    csb_strv_push(&argv, flags[l]);
    csb_strv_push(&argv, b.data ? b.data : "");
    csb_buf_free(&b);
  }
  if (desktop) {
    char *d = wa_utf8(desktop);
    csb_strv_push(&argv, "--desktop");
    csb_strv_push_owned(&argv, d);
  }
  csb_strv_push(&argv, "--");
  for (size_t i = 0; cmd[i]; i++) csb_strv_push(&argv, cmd[i]);
  wchar_t *cl = command_line(argv.items);
  csb_strv_free(&argv);
  wchar_t *env = env_block(A->plan);
  STARTUPINFOW si;
  startup_info(&si, desktop);
  PROCESS_INFORMATION pi;
  memset(&pi, 0, sizeof pi);
  wchar_t cwd[32768];
  DWORD cl_ok = GetCurrentDirectoryW(32768, cwd);
  BOOL ok = CreateProcessWithLogonW(A->user_name, L".", A->password, LOGON_WITH_PROFILE, runner, cl,
                                    CREATE_UNICODE_ENVIRONMENT, env, cl_ok ? cwd : NULL, &si, &pi);
  DWORD err = GetLastError();
  free(cl);
  free(env);
  free(runner);
  if (!ok)
    return wa_fail(A, CSB_EXIT_CANNOT_EXEC, "CreateProcessWithLogonW failed: %lu (backend: elevated; "
                   "fix: rerun csb-winacl apply from an elevated prompt to repair the sandbox users)",
                   (unsigned long)err);
  WaitForSingleObject(pi.hProcess, INFINITE);
  DWORD c = 1;
  GetExitCodeProcess(pi.hProcess, &c);
  CloseHandle(pi.hThread);
  CloseHandle(pi.hProcess);
  *code = (int)c;
  return 0;
}

int wa_launch(applier *A, char *const *cmd, int *exit_code) {
  wchar_t *desktop = NULL;
  HDESK desk = private_desktop(A, &desktop);
  const cJSON *d = cJSON_GetObjectItemCaseSensitive(A->plan, "desktop");
  if (desk == NULL && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "private"))) {
    wa_fail(A, CSB_EXIT_OSERR, "CreateDesktopW failed: %lu (the private desktop never falls back "
            "to Winsta0\\Default; pass --no-private-desktop to plan without one)",
            GetLastError());
    return -1;
  }
  int r = A->elevated ? launch_elevated(A, cmd, desktop ? desktop : L"Winsta0\\Default", exit_code)
                      : launch_unelevated(A, cmd, desktop ? desktop : L"Winsta0\\Default", exit_code);
  if (desk) CloseDesktop(desk);
  free(desktop);
  return r == 0 ? 0 : -1;
}

/* ---- the runner (as the sandbox user) ------------------------------------------ */

static int split_sids(const char *list, HANDLE self, PSID *out, DWORD max, DWORD *n) {
  *n = 0;
  char *copy = csb_xstrdup(list);
  int ok = 1;
  for (char *tok = strtok(copy, ","); tok && ok; tok = strtok(NULL, ",")) {
    if (*n >= max) {
      ok = 0;
      break;
    }
    if (strcmp(tok, "logon") == 0) {
      out[*n] = own_logon_sid(self);
    } else {
      wchar_t *w = wa_wide(tok);
      PSID tmp = NULL;
      out[*n] = NULL;
      if (ConvertStringSidToSidW(w, &tmp)) {
        DWORD l = GetLengthSid(tmp);
        out[*n] = csb_xmalloc(l);
        CopySid(l, out[*n], tmp);
        LocalFree(tmp);
      }
      free(w);
    }
    if (out[*n] == NULL) ok = 0;
    (*n)++;
  }
  free(copy);
  return ok;
}

int wa_runner_main(int argc, char **argv) {
  const char *restrict_list = NULL, *dacl_list = NULL, *desktop = NULL;
  int i = 2; /* argv[1] is "__runner" */
  for (; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) {
      i++;
      break;
    }
    if (i + 1 >= argc) return CSB_EXIT_USAGE;
    if (strcmp(argv[i], "--restrict") == 0)
      restrict_list = argv[++i];
    else if (strcmp(argv[i], "--dacl") == 0)
      dacl_list = argv[++i];
    else if (strcmp(argv[i], "--desktop") == 0)
      desktop = argv[++i];
    else
      return CSB_EXIT_USAGE;
  }
  if (restrict_list == NULL || dacl_list == NULL || i >= argc) return CSB_EXIT_USAGE;
  HANDLE self = NULL;
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &self)) return CSB_EXIT_OSERR;
  PSID sids[64], dsids[64];
  DWORD n = 0, nd = 0;
  int ok = split_sids(restrict_list, self, sids, 64, &n) && split_sids(dacl_list, self, dsids, 64, &nd);
  CloseHandle(self);
  if (!ok) {
    fprintf(stderr, "csb-winacl: error: runner: a restricting SID is invalid\n");
    return CSB_EXIT_INTERNAL;
  }
  DWORD err = 0;
  HANDLE rt = restricted_token(sids, n, dsids, nd, &err);
  for (DWORD k = 0; k < n; k++) free(sids[k]);
  for (DWORD k = 0; k < nd; k++) free(dsids[k]);
  if (rt == NULL) {
    fprintf(stderr, "csb-winacl: error: runner: CreateRestrictedToken failed: %lu\n",
            (unsigned long)err);
    return CSB_EXIT_OSERR;
  }
  wchar_t *cl = command_line(argv + i);
  wchar_t *wdesk = desktop ? wa_wide(desktop) : NULL;
  int code = 0;
  /* The environment was prepared by the launcher: inherit it as is. */
  int r = run_with_token(rt, cl, NULL, wdesk, &code, &err);
  CloseHandle(rt);
  free(cl);
  free(wdesk);
  if (r < 0) {
    fprintf(stderr, "csb-winacl: error: runner: CreateProcessAsUserW failed for `%s`: %lu\n",
            argv[i], (unsigned long)err);
    return err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND ? CSB_EXIT_NOT_FOUND
                                                                      : CSB_EXIT_CANNOT_EXEC;
  }
  return code;
}

#else
typedef int csb_winacl_apply_win_run_unused;
#endif /* _WIN32 */

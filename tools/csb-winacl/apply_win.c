/* apply_win.c - carries a plan out on Windows (see apply.h).
 *
 * Order (docs/csb-winacl.md, following the reference's setup program):
 *   1. principals: the current user and logon SID; for the elevated
 *      backend the sandbox group and users (provisioned when missing);
 *   2. re-checks: the capability SID record and the deny-read state must
 *      still be what the plan saw (else the plan is stale);
 *   3. capability SIDs created and recorded (before any ACE uses them);
 *   4. directories materialised; the group's stale deny-read ACEs
 *      revoked; ACEs in plan order (deny-read first), each verified by
 *      reading the DACL back; then the deny-read state recorded;
 *   5. sandbox directory locks; firewall rules (verified); WFP filters
 *      (best effort, as upstream); the setup marker last;
 *   6. the command, on a private desktop, as the sandbox identity.
 * A failure in 1-5 undoes every change made so far (journal, newest first)
 * and nothing runs. ACEs stay after the command: its descendants may
 * outlive it, and the next plan reconciles them.
 */
#include "apply.h"

#if defined(_WIN32)

#include <windows.h> /* first: the other Win32 headers need it */
#include <aclapi.h>
#include <bcrypt.h>
#include <sddl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply_win.h"
#include "csb_cli.h"
#include "csb_json.h"
#include "csb_paths.h"
#include "plan.h"

/* ---- small helpers ------------------------------------------------------- */

wchar_t *wa_wide(const char *s) {
  wchar_t *w = csb_os_wide(s);
  return w != NULL ? w : csb_xcalloc(1, sizeof(wchar_t));
}

char *wa_utf8(const wchar_t *w) { return csb_os_utf8_lossy(w); }

const char *wa_str(const cJSON *obj, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *get(const cJSON *obj, const char *key) {
  return cJSON_GetObjectItemCaseSensitive(obj, key);
}

int wa_fail(applier *A, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  csb_error_setv(A->err, fmt, ap);
  va_end(ap);
  if (A->code == 0) A->code = code;
  return code;
}

int wa_fail_win(applier *A, const char *what, const char *path, DWORD e) {
  return wa_fail(A, CSB_EXIT_OSERR, "%s failed for %s: %lu (backend: %s; fix: check the path's "
                 "owner and permissions, then apply again)",
                 what, path, (unsigned long)e, A->elevated ? "elevated" : "unelevated");
}

void wa_warn(applier *A, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  csb_strv_push_owned(&A->warnings, csb_xvasprintf(fmt, ap));
  va_end(ap);
}

void wa_journal(applier *A, wa_undo u) {
  A->undo = csb_xgrow(A->undo, &A->cap_undo, A->n_undo + 1, sizeof(*A->undo));
  A->undo[A->n_undo++] = u;
}

wchar_t *wa_host_wide(applier *A, const char *path) {
  if (strncmp(path, "\\\\.\\", 4) == 0) return wa_wide(path); /* device */
  char *host = wfs_host_path(A->fs, path);
  char *verbatim = host[0] == '\\' && host[1] == '\\'
                       ? csb_xasprintf("\\\\?\\UNC\\%s", host + 2)
                       : csb_xasprintf("\\\\?\\%s", host);
  wchar_t *w = wa_wide(verbatim);
  free(verbatim);
  free(host);
  return w;
}

char *wa_sid_string(PSID sid) {
  LPWSTR s = NULL;
  if (!ConvertSidToStringSidW(sid, &s)) return csb_xstrdup("?");
  char *u = wa_utf8(s);
  LocalFree(s);
  return u;
}

static PSID sid_copy(PSID sid) {
  DWORD n = GetLengthSid(sid);
  PSID c = csb_xmalloc(n);
  CopySid(n, c, sid);
  return c;
}

static PSID sid_from_string(const char *s) {
  wchar_t *w = wa_wide(s);
  PSID tmp = NULL;
  PSID out = NULL;
  if (ConvertStringSidToSidW(w, &tmp)) {
    out = sid_copy(tmp);
    LocalFree(tmp);
  }
  free(w);
  return out;
}

PSID wa_principal_sid(applier *A, const char *name) {
  for (size_t i = 0; i < A->n_principals; i++)
    if (strcmp(A->principals[i].name, name) == 0) return A->principals[i].sid;
  return NULL;
}

void wa_set_principal(applier *A, const char *name, PSID sid) {
  for (size_t i = 0; i < A->n_principals; i++) {
    if (strcmp(A->principals[i].name, name) == 0) {
      free(A->principals[i].sid);
      A->principals[i].sid = sid_copy(sid);
      return;
    }
  }
  A->principals = csb_xrealloc(A->principals, (A->n_principals + 1) * sizeof(*A->principals));
  A->principals[A->n_principals].name = csb_xstrdup(name);
  A->principals[A->n_principals].sid = sid_copy(sid);
  A->n_principals++;
}

int wa_random(void *buf, size_t n) {
  return BCryptGenRandom(NULL, buf, (ULONG)n, BCRYPT_USE_SYSTEM_PREFERRED_RNG) == 0;
}

int wa_read_file(applier *A, const char *path, char **out, size_t *len) {
  *out = NULL;
  *len = 0;
  if (wfs_lkind(A->fs, path) == WFS_MISSING) return 1;
  csb_error e;
  if (!wfs_read(A->fs, path, (size_t)64 << 20, out, len, &e))
    return wa_fail(A, CSB_EXIT_OSERR, "%s", e.msg) == 0;
  return 1;
}

int wa_replace_file(applier *A, const char *path, const char *data, size_t len) {
  char *old = NULL;
  size_t old_len = 0;
  int had = wfs_lkind(A->fs, path) == WFS_FILE;
  if (had && !wa_read_file(A, path, &old, &old_len)) return 0;
  /* Parent directories this write creates are journalled too. */
  csb_strv made;
  csb_strv_init(&made);
  for (char *c = csb_winpath_parent(path); c && wfs_lkind(A->fs, c) == WFS_MISSING;
       c = csb_winpath_parent(made.items[made.len - 1]))
    csb_strv_push_owned(&made, c);
  csb_error e;
  int wrote = wfs_write_file(A->fs, path, data, len, &e);
  for (size_t i = made.len; i > 0; i--) {
    wa_undo d = {0};
    d.kind = WA_UNDO_MKDIR;
    d.path = wa_host_wide(A, made.items[i - 1]);
    wa_journal(A, d);
  }
  csb_strv_free(&made);
  if (!wrote) {
    free(old);
    return wa_fail(A, CSB_EXIT_OSERR, "%s", e.msg) == 0;
  }
  wa_undo u = {0};
  u.kind = WA_UNDO_FILE;
  u.path = wa_wide(path);
  u.data = old;
  u.len = old_len;
  u.had_file = had;
  wa_journal(A, u);
  return 1;
}

/* ---- rollback ----------------------------------------------------------- */

static void rollback(applier *A) {
  for (size_t i = A->n_undo; i > 0; i--) {
    wa_undo *u = &A->undo[i - 1];
    switch (u->kind) {
      case WA_UNDO_DACL: {
        PACL dacl = NULL;
        BOOL present = FALSE, defaulted = FALSE;
        SECURITY_DESCRIPTOR_CONTROL ctl = 0;
        DWORD rev = 0;
        GetSecurityDescriptorDacl(u->sd, &present, &dacl, &defaulted);
        GetSecurityDescriptorControl(u->sd, &ctl, &rev);
        SECURITY_INFORMATION si = DACL_SECURITY_INFORMATION |
                                  ((ctl & SE_DACL_PROTECTED) ? PROTECTED_DACL_SECURITY_INFORMATION
                                                             : UNPROTECTED_DACL_SECURITY_INFORMATION);
        SetNamedSecurityInfoW(u->path, SE_FILE_OBJECT, si, NULL, NULL, dacl, NULL);
        break;
      }
      case WA_UNDO_MKDIR:
        RemoveDirectoryW(u->path);
        break;
      case WA_UNDO_FILE: {
        char *p = wa_utf8(u->path);
        csb_error e;
        if (u->had_file) {
          wfs_write_file(A->fs, p, u->data ? u->data : "", u->len, &e);
        } else {
          wchar_t *h = wa_host_wide(A, p);
          DeleteFileW(h);
          free(h);
        }
        free(p);
        break;
      }
      case WA_UNDO_FW_RULE:
        wa_undo_fw_rule(A, u);
        break;
      case WA_UNDO_USER:
      case WA_UNDO_GROUP:
        wa_undo_account(u);
        break;
    }
  }
}

static void free_undo(applier *A) {
  for (size_t i = 0; i < A->n_undo; i++) {
    free(A->undo[i].path);
    if (A->undo[i].sd) LocalFree(A->undo[i].sd);
    free(A->undo[i].data);
  }
  free(A->undo);
  A->undo = NULL;
  A->n_undo = 0;
}

/* ---- ACEs ------------------------------------------------------------------ */

static GENERIC_MAPPING kFileMapping = {FILE_GENERIC_READ, FILE_GENERIC_WRITE, FILE_GENERIC_EXECUTE,
                                       FILE_ALL_ACCESS};

static DWORD mapped(DWORD m) {
  MapGenericMask(&m, &kFileMapping);
  return m;
}

/* Whether the DACL already does what the ACE asks (upstream's skip rules):
 * allow - the effective allow ACEs of `sid` hold every bit (write roots:
 * and no explicit ACE grants FILE_DELETE_CHILD); deny - an effective deny
 * ACE of `sid` holds any of the bits. Inherit-only ACEs do not count. */
static int already(PACL dacl, PSID sid, int deny, DWORD mask, int write_root) {
  if (dacl == NULL) return 0;
  DWORD want = mapped(mask), allowed = 0;
  int delete_child = 0;
  for (DWORD i = 0; i < dacl->AceCount; i++) {
    ACE_HEADER *h = NULL;
    if (!GetAce(dacl, i, (void **)&h)) continue;
    if (h->AceFlags & INHERIT_ONLY_ACE) continue;
    if (h->AceType == ACCESS_ALLOWED_ACE_TYPE) {
      ACCESS_ALLOWED_ACE *a = (ACCESS_ALLOWED_ACE *)h;
      if (!EqualSid((PSID)&a->SidStart, sid)) continue;
      DWORD m = mapped(a->Mask);
      allowed |= m;
      if (!(h->AceFlags & INHERITED_ACE) && (m & FILE_DELETE_CHILD)) delete_child = 1;
    } else if (h->AceType == ACCESS_DENIED_ACE_TYPE) {
      ACCESS_DENIED_ACE *d = (ACCESS_DENIED_ACE *)h;
      if (!EqualSid((PSID)&d->SidStart, sid)) continue;
      if (deny && (mapped(d->Mask) & want)) return 1;
    }
  }
  if (deny) return 0;
  if (write_root && delete_child) return 0;
  return (allowed & want) == want;
}

static void journal_dacl(applier *A, const wchar_t *w, PSECURITY_DESCRIPTOR sd) {
  for (size_t i = 0; i < A->n_undo; i++)
    if (A->undo[i].kind == WA_UNDO_DACL && wcscmp(A->undo[i].path, w) == 0) {
      LocalFree(sd);
      return;
    }
  wa_undo u = {0};
  u.kind = WA_UNDO_DACL;
  u.path = _wcsdup(w);
  u.sd = sd;
  wa_journal(A, u);
}

static int set_dacl(applier *A, const char *path, const wchar_t *w, EXPLICIT_ACCESSW *ea,
                    ULONG n, int protect, int fresh) {
  PACL dacl = NULL, nacl = NULL;
  PSECURITY_DESCRIPTOR sd = NULL;
  DWORD e = GetNamedSecurityInfoW(w, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, &dacl,
                                  NULL, &sd);
  if (e != ERROR_SUCCESS) return wa_fail_win(A, "GetNamedSecurityInfoW", path, e) == 0;
  e = SetEntriesInAclW(n, ea, fresh ? NULL : dacl, &nacl);
  if (e != ERROR_SUCCESS) {
    LocalFree(sd);
    return wa_fail_win(A, "SetEntriesInAclW", path, e) == 0;
  }
  SECURITY_INFORMATION si = DACL_SECURITY_INFORMATION;
  if (protect) si |= PROTECTED_DACL_SECURITY_INFORMATION;
  e = SetNamedSecurityInfoW((LPWSTR)w, SE_FILE_OBJECT, si, NULL, NULL, nacl, NULL);
  LocalFree(nacl);
  if (e != ERROR_SUCCESS) {
    LocalFree(sd);
    return wa_fail_win(A, "SetNamedSecurityInfoW", path, e) == 0;
  }
  journal_dacl(A, w, sd);
  return 1;
}

static void fill_ea(EXPLICIT_ACCESSW *ea, PSID sid, int deny, DWORD mask, int inherit,
                    ACCESS_MODE allow_mode) {
  memset(ea, 0, sizeof(*ea));
  ea->grfAccessPermissions = mask;
  ea->grfAccessMode = deny ? DENY_ACCESS : allow_mode;
  ea->grfInheritance = inherit ? (CONTAINER_INHERIT_ACE | OBJECT_INHERIT_ACE) : NO_INHERITANCE;
  ea->Trustee.TrusteeForm = TRUSTEE_IS_SID;
  ea->Trustee.TrusteeType = TRUSTEE_IS_UNKNOWN;
  ea->Trustee.ptstrName = (LPWSTR)sid;
}

static int null_device(applier *A, PSID sid, DWORD mask) {
  HANDLE h = CreateFileW(L"\\\\.\\NUL", READ_CONTROL | WRITE_DAC,
                         FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0, NULL);
  if (h == INVALID_HANDLE_VALUE) {
    wa_warn(A, "cannot open \\\\.\\NUL to grant the sandbox access: %lu", GetLastError());
    return 1;
  }
  PACL dacl = NULL, nacl = NULL;
  PSECURITY_DESCRIPTOR sd = NULL;
  DWORD e = GetSecurityInfo(h, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, &dacl, NULL,
                            &sd);
  if (e == ERROR_SUCCESS && !already(dacl, sid, 0, mask, 0)) {
    EXPLICIT_ACCESSW ea;
    fill_ea(&ea, sid, 0, mask, 0, SET_ACCESS);
    e = SetEntriesInAclW(1, &ea, dacl, &nacl);
    if (e == ERROR_SUCCESS)
      e = SetSecurityInfo(h, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, nacl, NULL);
    if (nacl) LocalFree(nacl);
  }
  if (e != ERROR_SUCCESS) wa_warn(A, "cannot grant the sandbox access to \\\\.\\NUL: %lu", e);
  if (sd) LocalFree(sd);
  CloseHandle(h);
  return 1;
}

static int apply_ace(applier *A, const cJSON *ace) {
  const char *path = wa_str(ace, "path");
  const char *trustee = wa_str(ace, "trustee");
  const char *type = wa_str(ace, "type");
  const char *mask_s = wa_str(ace, "mask");
  const char *source = wa_str(ace, "source");
  const char *inherit = wa_str(ace, "inherit");
  if (!path || !trustee || !type || !mask_s || !source || !inherit)
    return wa_fail(A, CSB_EXIT_DATA, "malformed ACE in the plan") == 0;
  PSID sid = wa_principal_sid(A, trustee);
  if (sid == NULL)
    return wa_fail(A, CSB_EXIT_INTERNAL, "no SID for trustee `%s` of the ACE on %s", trustee,
                   path) == 0;
  DWORD mask = (DWORD)strtoul(mask_s, NULL, 16);
  int deny = strcmp(type, "deny") == 0;
  int inh = strcmp(inherit, "CI|OI") == 0;
  if (strcmp(source, "null_device") == 0) return null_device(A, sid, mask);
  wchar_t *w = wa_host_wide(A, path);
  PACL dacl = NULL;
  PSECURITY_DESCRIPTOR sd = NULL;
  int write_root = strcmp(source, "write_root") == 0;
  DWORD e = GetNamedSecurityInfoW(w, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, &dacl,
                                  NULL, &sd);
  int ok = 1;
  if (e != ERROR_SUCCESS) {
    ok = wa_fail_win(A, "GetNamedSecurityInfoW", path, e) == 0;
  } else if (!already(dacl, sid, deny, mask, write_root)) {
    EXPLICIT_ACCESSW ea;
    fill_ea(&ea, sid, deny, mask, inh, SET_ACCESS);
    ok = set_dacl(A, path, w, &ea, 1, 0, 0);
    if (ok) {
      /* Verify: read the DACL back. */
      PACL d2 = NULL;
      PSECURITY_DESCRIPTOR sd2 = NULL;
      e = GetNamedSecurityInfoW(w, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, &d2, NULL,
                                &sd2);
      if (e != ERROR_SUCCESS || !already(d2, sid, deny, mask, 0))
        ok = wa_fail(A, CSB_EXIT_OSERR,
                     "the %s ACE for %s on %s did not hold after SetNamedSecurityInfoW (verified by "
                     "reading the DACL back)",
                     type, trustee, path) == 0;
      if (sd2) LocalFree(sd2);
    }
  }
  if (sd) LocalFree(sd);
  free(w);
  return ok;
}

/* Upstream revokes with errors ignored: a stale ACE that cannot be removed
 * only denies more. */
static void revoke(applier *A, const char *path, PSID sid) {
  wchar_t *w = wa_host_wide(A, path);
  if (GetFileAttributesW(w) != INVALID_FILE_ATTRIBUTES) {
    EXPLICIT_ACCESSW ea;
    memset(&ea, 0, sizeof(ea));
    ea.grfAccessMode = REVOKE_ACCESS;
    ea.Trustee.TrusteeForm = TRUSTEE_IS_SID;
    ea.Trustee.ptstrName = (LPWSTR)sid;
    if (!set_dacl(A, path, w, &ea, 1, 0, 0)) {
      wa_warn(A, "cannot revoke the stale deny-read ACE on %s: %s", path, A->err->msg);
      csb_error_clear(A->err);
    }
  }
  free(w);
}

static int dir_locks(applier *A) {
  const cJSON *locks = get(A->plan, "dir_locks");
  for (const cJSON *l = locks ? locks->child : NULL; l; l = l->next) {
    const char *path = wa_str(l, "path");
    int protect = cJSON_IsTrue(get(l, "protected"));
    EXPLICIT_ACCESSW ea[8];
    ULONG n = 0;
    for (const cJSON *a = get(l, "aces") ? get(l, "aces")->child : NULL; a && n < 8; a = a->next) {
      PSID sid = wa_principal_sid(A, wa_str(a, "trustee"));
      if (sid == NULL)
        return wa_fail(A, CSB_EXIT_INTERNAL, "no SID for `%s` (lock of %s)", wa_str(a, "trustee"),
                       path) == 0;
      fill_ea(&ea[n++], sid, strcmp(wa_str(a, "type"), "deny") == 0,
              (DWORD)strtoul(wa_str(a, "mask"), NULL, 16), 1, protect ? GRANT_ACCESS : SET_ACCESS);
    }
    wchar_t *w = wa_host_wide(A, path);
    int ok = set_dacl(A, path, w, ea, n, protect, protect);
    free(w);
    if (!ok) return 0;
  }
  return 1;
}

/* ---- Everyone-writable audit (unelevated) ------------------------------------ */

/* The restricting SIDs of the unelevated token include Everyone and the
 * logon SID, so a directory Everyone may write stays writable from the
 * sandbox. Scan the usual places (reference B6) and deny writes there to
 * the capability SIDs, unless the directory is inside a write root. */
typedef struct audit_ctx {
  applier *A;
  DWORD deadline;
  int checks, max_checks, max_entries;
  csb_strv flagged;
} audit_ctx;

static int everyone_writable(const wchar_t *w) {
  PACL dacl = NULL;
  PSECURITY_DESCRIPTOR sd = NULL;
  if (GetNamedSecurityInfoW(w, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, &dacl, NULL,
                            &sd) != ERROR_SUCCESS)
    return 0; /* unreadable: not counted (logged upstream) */
  int hit = 0;
  if (dacl != NULL) {
    PSID everyone = NULL;
    ConvertStringSidToSidW(L"S-1-1-0", &everyone);
    TRUSTEEW t;
    memset(&t, 0, sizeof t);
    t.TrusteeForm = TRUSTEE_IS_SID;
    t.TrusteeType = TRUSTEE_IS_WELL_KNOWN_GROUP;
    t.ptstrName = (LPWSTR)everyone;
    ACCESS_MASK m = 0;
    if (GetEffectiveRightsFromAclW(dacl, &t, &m) == ERROR_SUCCESS)
      hit = (mapped(m) & (FILE_WRITE_DATA | FILE_APPEND_DATA | FILE_WRITE_EA |
                          FILE_WRITE_ATTRIBUTES)) != 0;
    LocalFree(everyone);
  } else {
    hit = 1; /* a NULL DACL grants everything */
  }
  LocalFree(sd);
  return hit;
}

static void audit_one(audit_ctx *C, const wchar_t *w) {
  if (C->checks >= C->max_checks || GetTickCount() > C->deadline) return;
  C->checks++;
  if (everyone_writable(w)) {
    char *u = wa_utf8(w);
    char *n = csb_winpath_normalize(u);
    if (n) csb_strv_push_owned(&C->flagged, n);
    free(u);
  }
}

static int skipped_suffix(const wchar_t *w) {
  static const wchar_t *const sfx[] = {L"\\windows\\installer", L"\\windows\\registration",
                                       L"\\programdata"};
  size_t n = wcslen(w);
  for (size_t i = 0; i < 3; i++) {
    size_t m = wcslen(sfx[i]);
    if (n >= m && _wcsicmp(w + n - m, sfx[i]) == 0) return 1;
  }
  return 0;
}

static void audit_dir(audit_ctx *C, const wchar_t *dir, int children) {
  DWORD a = GetFileAttributesW(dir);
  if (a == INVALID_FILE_ATTRIBUTES || !(a & FILE_ATTRIBUTE_DIRECTORY) ||
      (a & FILE_ATTRIBUTE_REPARSE_POINT) || skipped_suffix(dir))
    return;
  audit_one(C, dir);
  if (!children) return;
  size_t n = wcslen(dir);
  wchar_t *pat = csb_xcalloc(n + 3, sizeof(wchar_t));
  memcpy(pat, dir, n * sizeof(wchar_t));
  wcscpy(pat + n, dir[n - 1] == L'\\' ? L"*" : L"\\*");
  WIN32_FIND_DATAW fd;
  HANDLE h = FindFirstFileExW(pat, FindExInfoBasic, &fd, FindExSearchLimitToDirectories, NULL, 0);
  free(pat);
  if (h == INVALID_HANDLE_VALUE) return;
  int entries = 0;
  do {
    if (++entries > C->max_entries) break;
    if (!(fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) ||
        (fd.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) || wcscmp(fd.cFileName, L".") == 0 ||
        wcscmp(fd.cFileName, L"..") == 0)
      continue;
    size_t l = n + 2 + wcslen(fd.cFileName);
    wchar_t *child = csb_xcalloc(l + 1, sizeof(wchar_t));
    swprintf(child, l + 1, dir[n - 1] == L'\\' ? L"%ls%ls" : L"%ls\\%ls", dir, fd.cFileName);
    if (!skipped_suffix(child)) audit_one(C, child);
    free(child);
  } while (FindNextFileW(h, &fd));
  FindClose(h);
}

static void audit_env_dirs(audit_ctx *C, const wchar_t *name, int split) {
  const wchar_t *v = _wgetenv(name);
  if (v == NULL) return;
  wchar_t *copy = _wcsdup(v);
  for (wchar_t *t = copy; t != NULL;) {
    wchar_t *semi = split ? wcschr(t, L';') : NULL;
    if (semi) *semi = 0;
    while (*t == L' ') t++;
    if (*t) audit_dir(C, t, 1);
    t = semi ? semi + 1 : NULL;
  }
  free(copy);
}

static int audit(applier *A) {
  const cJSON *a = get(A->plan, "audit");
  if (!cJSON_IsObject(a)) return 1;
  audit_ctx C;
  memset(&C, 0, sizeof C);
  C.A = A;
  C.deadline = GetTickCount() + (DWORD)get(a, "budget_ms")->valuedouble;
  C.max_checks = (int)get(a, "max_checks")->valuedouble;
  C.max_entries = (int)get(a, "max_entries_per_dir")->valuedouble;
  csb_strv_init(&C.flagged);
  wchar_t cwd[32768];
  if (GetCurrentDirectoryW(32768, cwd)) audit_dir(&C, cwd, 1);
  audit_env_dirs(&C, L"TEMP", 0);
  audit_env_dirs(&C, L"TMP", 0);
  audit_env_dirs(&C, L"USERPROFILE", 0);
  audit_env_dirs(&C, L"PUBLIC", 0);
  audit_env_dirs(&C, L"PATH", 1);
  audit_dir(&C, L"C:\\", 1);
  audit_dir(&C, L"C:\\Windows", 1);
  csb_strv_sort_unique(&C.flagged);
  int ok = 1;
  const cJSON *roots = get(A->plan, "write_roots");
  const cJSON *trustees = get(a, "deny_trustees");
  for (size_t i = 0; i < C.flagged.len; i++) {
    const char *p = C.flagged.items[i];
    int inside = 0;
    for (const cJSON *r = roots ? roots->child : NULL; r && !inside; r = r->next)
      inside = csb_winpath_is_under(wa_str(r, "path"), p);
    if (inside) continue;
    for (const cJSON *t = trustees ? trustees->child : NULL; t; t = t->next) {
      PSID sid = wa_principal_sid(A, t->valuestring);
      if (sid == NULL) continue;
      wchar_t *w = wa_wide(p);
      EXPLICIT_ACCESSW ea;
      fill_ea(&ea, sid, 1, WA_MASK_DENY_WRITE, 1, SET_ACCESS);
      if (!set_dacl(A, p, w, &ea, 1, 0, 0)) ok = 0; /* all are tried; the first error stays */
      free(w);
    }
  }
  csb_strv_free(&C.flagged);
  return ok;
}

/* ---- re-checks, capability SIDs, state -------------------------------------- */

static int stale(applier *A, const char *what) {
  return wa_fail(A, CSB_EXIT_UNAVAILABLE,
                 "the plan is stale: %s changed since it was made; refusing to apply (fix: run "
                 "`csb-winacl plan` again and apply the new plan)",
                 what) == 0;
}

static int caps(applier *A) {
  const cJSON *c = get(A->plan, "capability_sids");
  const char *file = wa_str(c, "file");
  const char *status = wa_str(c, "status");
  char *text = NULL;
  size_t len = 0;
  if (!wa_read_file(A, file, &text, &len)) return 0;
  cJSON *rec = NULL;
  const char *now = "missing";
  if (text != NULL) {
    if (csb_json_parse(text, len, &rec, NULL) && cJSON_IsObject(rec)) {
      now = "record";
    } else {
      cJSON_Delete(rec);
      rec = csb_json_new_object();
      char *t = csb_xstrdup(text);
      char *e = t + strlen(t);
      while (e > t && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ')) *--e = '\0';
      if (wa_is_cap_sid(t)) {
        csb_json_add_string(rec, "workspace", t);
        now = "plain-sid";
      } else {
        now = "corrupt";
      }
      free(t);
    }
  } else {
    rec = csb_json_new_object();
  }
  free(text);
  if (status == NULL || strcmp(status, now) != 0) {
    cJSON_Delete(rec);
    return stale(A, "the capability SID record");
  }
  int changed = strcmp(now, "record") != 0;
  for (const cJSON *e = get(c, "entries") ? get(c, "entries")->child : NULL; e; e = e->next) {
    const char *slot = wa_str(e, "slot"), *key = wa_str(e, "key"), *want = wa_str(e, "sid");
    const cJSON *have;
    if (key == NULL) {
      have = get(rec, slot);
    } else {
      const cJSON *map = get(rec, slot);
      have = map ? get(map, key) : NULL;
    }
    const char *have_s = cJSON_IsString(have) ? have->valuestring : NULL;
    if ((want == NULL) != (have_s == NULL) || (want && strcmp(want, have_s) != 0)) {
      cJSON_Delete(rec);
      return stale(A, "the capability SID record");
    }
    char *sid_s = NULL;
    if (want == NULL) {
      uint32_t r[4];
      if (!wa_random(r, sizeof r)) {
        cJSON_Delete(rec);
        return wa_fail(A, CSB_EXIT_OSERR, "BCryptGenRandom failed") == 0;
      }
      sid_s = csb_xasprintf("S-1-5-21-%u-%u-%u-%u", r[0], r[1], r[2], r[3]);
      if (key == NULL) {
        cJSON_DeleteItemFromObjectCaseSensitive(rec, slot);
        csb_json_add_string(rec, slot, sid_s);
      } else {
        cJSON *map = cJSON_GetObjectItemCaseSensitive(rec, slot);
        if (!cJSON_IsObject(map)) {
          cJSON_DeleteItemFromObjectCaseSensitive(rec, slot);
          map = csb_json_add_object(rec, slot);
        }
        csb_json_add_string(map, key, sid_s);
      }
      changed = 1;
    } else {
      sid_s = csb_xstrdup(want);
    }
    PSID sid = sid_from_string(sid_s);
    if (sid == NULL) {
      wa_fail(A, CSB_EXIT_DATA, "`%s` is not a SID", sid_s);
      free(sid_s);
      cJSON_Delete(rec);
      return 0;
    }
    wa_set_principal(A, wa_str(e, "trustee"), sid);
    free(sid);
    free(sid_s);
  }
  int ok = 1;
  if (changed) {
    /* Recorded before any ACE names the new SIDs, so they are never lost. */
    char *json = csb_json_print_str(rec, 0);
    ok = wa_replace_file(A, file, json, strlen(json));
    free(json);
  }
  cJSON_Delete(rec);
  return ok;
}

static int state_check(applier *A, cJSON **doc_out) {
  *doc_out = NULL;
  const cJSON *st = get(get(A->plan, "deny_read"), "state");
  if (!cJSON_IsObject(st)) return 1; /* none, or null */
  const char *file = wa_str(st, "file");
  const char *status = wa_str(st, "status");
  char *text = NULL;
  size_t len = 0;
  if (!wa_read_file(A, file, &text, &len)) return 0;
  cJSON *doc = NULL;
  const char *now = "missing";
  if (text != NULL) {
    now = "corrupt";
    if (csb_json_parse(text, len, &doc, NULL) && cJSON_IsObject(doc) &&
        cJSON_IsObject(get(doc, "principals")))
      now = "ok";
  }
  free(text);
  if (strcmp(status, now) != 0) {
    cJSON_Delete(doc);
    return stale(A, "the deny-read state");
  }
  if (doc == NULL) doc = csb_json_new_object();
  char *gsid = wa_sid_string(wa_principal_sid(A, "group"));
  const cJSON *have = get(get(doc, "principals"), gsid);
  /* A plan made without the group's SID (--sid group=) recorded nothing
   * for it: what the state holds now is compared with the plan's record
   * here instead. */
  int sid_known = cJSON_IsString(get(get(get(A->plan, "principals"), "group"), "sid"));
  wa_state_revocations(st, have, sid_known, &A->revoke);
  const cJSON *rec = get(st, "recorded");
  int same = !sid_known || wa_state_recorded_same(have, rec);
  free(gsid);
  if (!same) {
    cJSON_Delete(doc);
    return stale(A, "the deny-read state recorded for the group");
  }
  *doc_out = doc;
  return 1;
}

/* Removes the group's stale deny-read ACEs, before the plan's ACEs are
 * ensured: REVOKE_ACCESS takes every ACE of the group off the object, so
 * done afterwards it would also take the allow of a path that was denied
 * before and is a read or write root now. */
static void revoke_stale(applier *A) {
  PSID group = wa_principal_sid(A, "group");
  for (size_t i = 0; i < A->revoke.len; i++) revoke(A, A->revoke.items[i], group);
}

static int state_commit(applier *A, cJSON *doc) {
  const cJSON *st = get(get(A->plan, "deny_read"), "state");
  if (!cJSON_IsObject(st)) return 1; /* none, or null */
  const char *file = wa_str(st, "file");
  if (strcmp(wa_str(st, "status"), "corrupt") == 0) {
    char *bak = csb_xasprintf("%s.corrupt", file);
    csb_error e;
    if (!wfs_rename(A->fs, file, bak, &e)) wa_warn(A, "%s", e.msg);
    free(bak);
  }
  PSID group = wa_principal_sid(A, "group");
  cJSON *pr = cJSON_GetObjectItemCaseSensitive(doc, "principals");
  if (!cJSON_IsObject(pr)) {
    cJSON_DeleteItemFromObjectCaseSensitive(doc, "principals");
    pr = csb_json_add_object(doc, "principals");
  }
  char *gsid = wa_sid_string(group);
  cJSON_DeleteItemFromObjectCaseSensitive(pr, gsid);
  const cJSON *record = get(st, "record");
  if (cJSON_GetArraySize(record) > 0) cJSON_AddItemToObject(pr, gsid, cJSON_Duplicate(record, 1));
  free(gsid);
  char *json = csb_json_print_str(doc, 0);
  int ok = wa_replace_file(A, file, json, strlen(json));
  free(json);
  return ok;
}

static int marker(applier *A) {
  const cJSON *m = get(A->plan, "setup_marker");
  if (!cJSON_IsObject(m)) return 1;
  cJSON *doc = csb_json_new_object();
  static const char *const keys[] = {"version", "offline_username", "online_username",
                                     "proxy_ports", "allow_local_binding"};
  for (size_t i = 0; i < CSB_ARRAY_LEN(keys); i++)
    cJSON_AddItemToObject(doc, keys[i], cJSON_Duplicate(get(m, keys[i]), 1));
  char *json = csb_json_print_str(doc, 0);
  int ok = wa_replace_file(A, wa_str(m, "file"), json, strlen(json));
  free(json);
  cJSON_Delete(doc);
  return ok;
}

static int mkdirs(applier *A) {
  const cJSON *mk = get(A->plan, "mkdir");
  for (const cJSON *m = mk ? mk->child : NULL; m; m = m->next) {
    const char *path = wa_str(m, "path");
    /* Journal every missing ancestor we create (removed newest first). */
    csb_strv chain;
    csb_strv_init(&chain);
    for (char *c = csb_xstrdup(path); c && wfs_lkind(A->fs, c) == WFS_MISSING;
         c = csb_winpath_parent(chain.items[chain.len - 1]))
      csb_strv_push_owned(&chain, c);
    csb_error e;
    int ok = wfs_mkdirs(A->fs, path, &e);
    for (size_t i = chain.len; i > 0; i--) {
      wa_undo u = {0};
      u.kind = WA_UNDO_MKDIR;
      u.path = wa_host_wide(A, chain.items[i - 1]);
      wa_journal(A, u);
    }
    csb_strv_free(&chain);
    if (!ok) return wa_fail(A, CSB_EXIT_OSERR, "%s", e.msg) == 0;
  }
  return 1;
}

/* ---- principals from this process ----------------------------------------- */

static int own_principals(applier *A) {
  HANDLE tok = NULL;
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &tok))
    return wa_fail_win(A, "OpenProcessToken", "the current process", GetLastError()) == 0;
  BYTE buf[8192];
  DWORD n = 0;
  int ok = 1;
  if (GetTokenInformation(tok, TokenUser, buf, sizeof buf, &n))
    wa_set_principal(A, "real_user", ((TOKEN_USER *)buf)->User.Sid);
  else
    ok = wa_fail_win(A, "GetTokenInformation(TokenUser)", "the current process", GetLastError()) == 0;
  if (ok && GetTokenInformation(tok, TokenGroups, buf, sizeof buf, &n)) {
    TOKEN_GROUPS *g = (TOKEN_GROUPS *)buf;
    for (DWORD i = 0; i < g->GroupCount; i++)
      if ((g->Groups[i].Attributes & SE_GROUP_LOGON_ID) == SE_GROUP_LOGON_ID) {
        wa_set_principal(A, "logon", g->Groups[i].Sid);
        break;
      }
  }
  CloseHandle(tok);
  if (ok && wa_principal_sid(A, "logon") == NULL)
    ok = wa_fail(A, CSB_EXIT_OSERR, "the current token has no logon SID") == 0;
  /* Well-known principals the plan names with their SIDs. */
  const cJSON *pr = get(A->plan, "principals");
  for (const cJSON *p = pr ? pr->child : NULL; ok && p; p = p->next) {
    const char *s = wa_str(p, "sid");
    if (s == NULL || strncmp(p->string, "cap:", 4) == 0 || wa_principal_sid(A, p->string) != NULL)
      continue;
    if (strcmp(p->string, "group") == 0 || strcmp(p->string, "offline") == 0 ||
        strcmp(p->string, "online") == 0)
      continue; /* resolved by provisioning, then compared */
    PSID sid = sid_from_string(s);
    if (sid == NULL) {
      ok = wa_fail(A, CSB_EXIT_DATA, "`%s` is not a SID (principal %s)", s, p->string) == 0;
      break;
    }
    wa_set_principal(A, p->string, sid);
    free(sid);
  }
  return ok;
}

/* Plan principals with a known SID must be what this machine has. */
static int compare_principals(applier *A) {
  const cJSON *pr = get(A->plan, "principals");
  for (const cJSON *p = pr ? pr->child : NULL; p; p = p->next) {
    const char *s = wa_str(p, "sid");
    PSID have = wa_principal_sid(A, p->string);
    if (s == NULL || have == NULL) continue;
    char *hs = wa_sid_string(have);
    int same = _stricmp(hs, s) == 0;
    free(hs);
    if (!same) {
      char *what = csb_xasprintf("the SID of `%s`", p->string);
      int r = stale(A, what);
      free(what);
      return r;
    }
  }
  return 1;
}

static void free_applier(applier *A) {
  for (size_t i = 0; i < A->n_principals; i++) {
    free(A->principals[i].name);
    free(A->principals[i].sid);
  }
  free(A->principals);
  free_undo(A);
  csb_strv_free(&A->warnings);
  csb_strv_free(&A->revoke);
  free(A->home);
  if (A->password) {
    SecureZeroMemory(A->password, wcslen(A->password) * sizeof(wchar_t));
    free(A->password);
  }
  free(A->user_name);
  if (A->com_ready) CoUninitialize();
}

static void print_warnings(applier *A) {
  for (size_t i = 0; i < A->warnings.len; i++)
    fprintf(stderr, "csb-winacl: warning: %s\n", A->warnings.items[i]);
}

static int setup(applier *A) {
  if (!own_principals(A)) return 0;
  if (A->elevated && !wa_provision(A)) return 0;
  if (!compare_principals(A)) return 0;
  if (!caps(A)) return 0;
  cJSON *state = NULL;
  if (A->elevated && !state_check(A, &state)) return 0;
  int ok = mkdirs(A);
  if (ok && A->elevated) revoke_stale(A);
  const cJSON *aces = get(A->plan, "aces");
  for (const cJSON *a = aces ? aces->child : NULL; ok && a; a = a->next) ok = apply_ace(A, a);
  if (ok && A->elevated) ok = state_commit(A, state);
  if (ok && !A->elevated) ok = audit(A);
  cJSON_Delete(state);
  if (ok) ok = dir_locks(A);
  if (ok && A->offline) {
    ok = wa_firewall(A);
    if (ok) wa_wfp(A);
  }
  if (ok) ok = marker(A);
  return ok;
}

int wa_apply(const cJSON *plan, const char *fs_root, char *const *cmd, int *failed,
             csb_error *err) {
  *failed = 0;
  /* Everything below reads the plan's members as wa_plan_check knows them. */
  if (!wa_plan_check(plan, err)) {
    *failed = 1;
    return CSB_EXIT_DATA;
  }
  applier A;
  memset(&A, 0, sizeof(A));
  A.plan = plan;
  A.err = err;
  csb_strv_init(&A.warnings);
  csb_strv_init(&A.revoke);
  const char *backend = wa_str(plan, "backend");
  A.elevated = backend && strcmp(backend, "elevated") == 0;
  A.identity = wa_str(get(plan, "identity"), "kind");
  A.offline = A.elevated && A.identity && strcmp(A.identity, "offline") == 0;
  A.home = csb_xstrdup(wa_str(plan, "csb_home") ? wa_str(plan, "csb_home") : "");
  csb_error e;
  if (!wfs_open(fs_root, &A.fs, &e)) {
    *failed = 1;
    csb_error_set(err, "%s", e.msg);
    free_applier(&A);
    return CSB_EXIT_USAGE;
  }
  HRESULT hr = CoInitializeEx(NULL, COINIT_APARTMENTTHREADED);
  A.com_ready = SUCCEEDED(hr);
  int rc;
  if (!setup(&A)) {
    rollback(&A);
    *failed = 1;
    rc = A.code ? A.code : CSB_EXIT_INTERNAL;
  } else {
    print_warnings(&A);
    int code = 0;
    if (wa_launch(&A, cmd, &code) < 0) {
      *failed = 1;
      rc = A.code ? A.code : CSB_EXIT_CANNOT_EXEC;
    } else {
      rc = code;
    }
  }
  wfs_free(A.fs);
  free_applier(&A);
  return rc;
}

#else
typedef int csb_winacl_apply_win_unused;
#endif /* _WIN32 */

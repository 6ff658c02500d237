/* apply_win_users.c - the elevated backend's accounts: the CsbSandboxUsers
 * group and the CsbSandboxOffline / CsbSandboxOnline users, their random
 * passwords (DPAPI-protected in <csb home>\.sandbox-secrets) and SIDs.
 * Creating or repairing them needs an elevated process; using them does
 * not. */
#include "apply.h"

#if defined(_WIN32)

#include <windows.h> /* first: the other Win32 headers need it */
#include <lm.h>
#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wincrypt.h>

#include "apply_win.h"
#include "csb_cli.h"
#include "csb_json.h"
#include "csb_paths.h"
#include "plan.h"

#define SECRETS_VERSION 1
#define PASSWORD_LEN 24

static const char kPasswordChars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!@#$%^&*()-_=+";

static PSID lookup(const wchar_t *name) {
  DWORD sidlen = 0, domlen = 0;
  SID_NAME_USE use;
  LookupAccountNameW(NULL, name, NULL, &sidlen, NULL, &domlen, &use);
  if (sidlen == 0) return NULL;
  PSID sid = csb_xmalloc(sidlen);
  wchar_t *dom = csb_xcalloc(domlen + 1, sizeof(wchar_t));
  BOOL ok = LookupAccountNameW(NULL, name, sid, &sidlen, dom, &domlen, &use);
  free(dom);
  if (!ok) {
    free(sid);
    return NULL;
  }
  return sid;
}

static int is_elevated(void) {
  HANDLE tok = NULL;
  TOKEN_ELEVATION el = {0};
  DWORD n = 0;
  int ok = OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &tok) &&
           GetTokenInformation(tok, TokenElevation, &el, sizeof el, &n) && el.TokenIsElevated;
  if (tok) CloseHandle(tok);
  return ok;
}

static wchar_t *random_password(void) {
  unsigned char r[PASSWORD_LEN];
  if (!wa_random(r, sizeof r)) return NULL;
  wchar_t *w = csb_xcalloc(PASSWORD_LEN + 1, sizeof(wchar_t));
  size_t n = sizeof kPasswordChars - 1;
  for (size_t i = 0; i < PASSWORD_LEN; i++) w[i] = (wchar_t)kPasswordChars[r[i] % n];
  SecureZeroMemory(r, sizeof r);
  return w;
}

/* DPAPI (current user) + base64. */
static char *protect(const wchar_t *password) {
  DATA_BLOB in = {(DWORD)(wcslen(password) * sizeof(wchar_t)), (BYTE *)password}, out = {0};
  if (!CryptProtectData(&in, L"csb sandbox user", NULL, NULL, NULL, CRYPTPROTECT_UI_FORBIDDEN, &out))
    return NULL;
  DWORD n = 0;
  CryptBinaryToStringA(out.pbData, out.cbData, CRYPT_STRING_BASE64 | CRYPT_STRING_NOCRLF, NULL, &n);
  char *b64 = csb_xmalloc(n + 1);
  if (!CryptBinaryToStringA(out.pbData, out.cbData, CRYPT_STRING_BASE64 | CRYPT_STRING_NOCRLF, b64,
                            &n)) {
    free(b64);
    b64 = NULL;
  }
  LocalFree(out.pbData);
  return b64;
}

static wchar_t *unprotect(const char *b64) {
  DWORD n = 0;
  if (!CryptStringToBinaryA(b64, 0, CRYPT_STRING_BASE64, NULL, &n, NULL, NULL)) return NULL;
  BYTE *raw = csb_xmalloc(n ? n : 1);
  if (!CryptStringToBinaryA(b64, 0, CRYPT_STRING_BASE64, raw, &n, NULL, NULL)) {
    free(raw);
    return NULL;
  }
  DATA_BLOB in = {n, raw}, out = {0};
  wchar_t *w = NULL;
  if (CryptUnprotectData(&in, NULL, NULL, NULL, NULL, CRYPTPROTECT_UI_FORBIDDEN, &out)) {
    size_t chars = out.cbData / sizeof(wchar_t);
    w = csb_xcalloc(chars + 1, sizeof(wchar_t));
    memcpy(w, out.pbData, chars * sizeof(wchar_t));
    SecureZeroMemory(out.pbData, out.cbData);
    LocalFree(out.pbData);
  }
  free(raw);
  return w;
}

/* The members password (base64 DPAPI blob) of `who` in the secrets file. */
static wchar_t *stored_password(const cJSON *secrets, const char *who) {
  const cJSON *u = cJSON_GetObjectItemCaseSensitive(secrets, who);
  const char *b64 = wa_str(u, "password");
  return b64 ? unprotect(b64) : NULL;
}

static int add_member(const wchar_t *group, const wchar_t *user) {
  LOCALGROUP_MEMBERS_INFO_3 m;
  m.lgrmi3_domainandname = (LPWSTR)user;
  NET_API_STATUS st = NetLocalGroupAddMembers(NULL, group, 3, (LPBYTE)&m, 1);
  return st == NERR_Success || st == ERROR_MEMBER_IN_ALIAS;
}

static void hide_from_logon(const wchar_t *user) {
  DWORD zero = 0;
  RegSetKeyValueW(HKEY_LOCAL_MACHINE,
                  L"SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon\\SpecialAccounts\\UserList",
                  user, REG_DWORD, &zero, sizeof zero);
}

static int users_group_name(wchar_t *out, DWORD n) {
  PSID users = NULL;
  if (!ConvertStringSidToSidW(L"S-1-5-32-545", &users)) return 0;
  DWORD domlen = 64;
  wchar_t dom[64];
  SID_NAME_USE use;
  BOOL ok = LookupAccountSidW(NULL, users, out, &n, dom, &domlen, &use);
  LocalFree(users);
  return ok;
}

void wa_undo_account(const wa_undo *u) {
  if (u->kind == WA_UNDO_USER)
    NetUserDel(NULL, u->path);
  else if (u->kind == WA_UNDO_GROUP)
    NetLocalGroupDel(NULL, u->path);
}

static int create_or_reset(applier *A, const wchar_t *name, wchar_t **password_out) {
  wchar_t *pw = random_password();
  if (pw == NULL) return wa_fail(A, CSB_EXIT_OSERR, "BCryptGenRandom failed") == 0;
  PSID existing = lookup(name);
  NET_API_STATUS st;
  if (existing == NULL) {
    USER_INFO_1 ui;
    memset(&ui, 0, sizeof ui);
    ui.usri1_name = (LPWSTR)name;
    ui.usri1_password = pw;
    ui.usri1_priv = USER_PRIV_USER;
    ui.usri1_flags = UF_SCRIPT | UF_DONT_EXPIRE_PASSWD | UF_PASSWD_CANT_CHANGE;
    st = NetUserAdd(NULL, 1, (LPBYTE)&ui, NULL);
    if (st == NERR_Success) {
      wa_undo u = {0};
      u.kind = WA_UNDO_USER;
      u.path = _wcsdup(name);
      wa_journal(A, u);
    }
  } else {
    USER_INFO_1003 ui;
    ui.usri1003_password = pw;
    st = NetUserSetInfo(NULL, name, 1003, (LPBYTE)&ui, NULL);
  }
  free(existing);
  if (st != NERR_Success) {
    free(pw);
    char *n = wa_utf8(name);
    int r = wa_fail(A, CSB_EXIT_OSERR,
                    "creating or updating the sandbox user %s failed: %lu (backend: elevated; fix: "
                    "check local account policies, then apply again from an elevated prompt)",
                    n, (unsigned long)st);
    free(n);
    return r == 0;
  }
  wchar_t users[256];
  if (users_group_name(users, 256)) add_member(users, name);
  if (!add_member(L"" WA_USERS_GROUP, name)) {
    free(pw);
    return wa_fail(A, CSB_EXIT_OSERR, "adding a sandbox user to " WA_USERS_GROUP " failed") == 0;
  }
  hide_from_logon(name);
  *password_out = pw;
  return 1;
}

static wchar_t *wide_lit(const char *s) { return wa_wide(s); }

int wa_provision(applier *A) {
  wchar_t *group = wide_lit(WA_USERS_GROUP);
  wchar_t *names[2] = {wide_lit(WA_OFFLINE_USER), wide_lit(WA_ONLINE_USER)};
  const char *keys[2] = {"offline", "online"};
  char *secrets_file = csb_winpath_join(A->home, ".sandbox-secrets\\sandbox_users.json");
  char *text = NULL;
  size_t len = 0;
  cJSON *secrets = NULL;
  wchar_t *pw[2] = {NULL, NULL};
  int ok = wa_read_file(A, secrets_file, &text, &len);
  if (ok && text && !(csb_json_parse(text, len, &secrets, NULL) && cJSON_IsObject(secrets))) {
    cJSON_Delete(secrets);
    secrets = NULL;
  }
  free(text);
  PSID gsid = lookup(group);
  PSID usid[2] = {lookup(names[0]), lookup(names[1])};
  for (int i = 0; i < 2; i++) pw[i] = secrets ? stored_password(secrets, keys[i]) : NULL;
  int need = gsid == NULL || usid[0] == NULL || usid[1] == NULL || pw[0] == NULL || pw[1] == NULL;
  if (ok && need) {
    if (!is_elevated()) {
      ok = wa_fail(A, CSB_EXIT_UNAVAILABLE,
                   "sandbox provisioning setup must be run from an elevated process (rule: the "
                   WA_USERS_GROUP " group, the sandbox users or their credentials are missing; "
                   "backend: elevated; fix: run csb-winacl apply once from an elevated prompt, or "
                   "use --backend unelevated)") == 0;
    }
    if (ok && gsid == NULL) {
      LOCALGROUP_INFO_1 gi;
      gi.lgrpi1_name = group;
      gi.lgrpi1_comment = L"csb sandbox internal group (managed)";
      NET_API_STATUS st = NetLocalGroupAdd(NULL, 1, (LPBYTE)&gi, NULL);
      if (st != NERR_Success && st != NERR_GroupExists && st != ERROR_ALIAS_EXISTS) {
        ok = wa_fail(A, CSB_EXIT_OSERR, "creating the local group " WA_USERS_GROUP " failed: %lu",
                     (unsigned long)st) == 0;
      } else if (st == NERR_Success) {
        wa_undo u = {0};
        u.kind = WA_UNDO_GROUP;
        u.path = _wcsdup(group);
        wa_journal(A, u);
      }
    }
    cJSON *doc = csb_json_new_object();
    csb_json_add_int(doc, "version", SECRETS_VERSION);
    for (int i = 0; ok && i < 2; i++) {
      if (usid[i] == NULL || pw[i] == NULL) {
        free(pw[i]);
        pw[i] = NULL;
        ok = create_or_reset(A, names[i], &pw[i]);
      }
      if (!ok) break;
      char *b64 = protect(pw[i]);
      if (b64 == NULL) {
        ok = wa_fail(A, CSB_EXIT_OSERR, "CryptProtectData failed: %lu",
                     (unsigned long)GetLastError()) == 0;
        break;
      }
      cJSON *u = csb_json_add_object(doc, keys[i]);
      char *uname = wa_utf8(names[i]);
      csb_json_add_string(u, "username", uname);
      csb_json_add_string(u, "password", b64);
      free(uname);
      free(b64);
    }
    if (ok) {
      char *json = csb_json_print_str(doc, 0);
      ok = wa_replace_file(A, secrets_file, json, strlen(json));
      free(json);
    }
    cJSON_Delete(doc);
    free(gsid);
    free(usid[0]);
    free(usid[1]);
    gsid = lookup(group);
    usid[0] = lookup(names[0]);
    usid[1] = lookup(names[1]);
  }
  if (ok && (gsid == NULL || usid[0] == NULL || usid[1] == NULL))
    ok = wa_fail(A, CSB_EXIT_UNAVAILABLE,
                 "Windows sandbox setup is missing or out of date; rerun the sandbox setup with "
                 "elevation (rule: sandbox accounts; backend: elevated; fix: run csb-winacl apply "
                 "from an elevated prompt)") == 0;
  if (ok) {
    wa_set_principal(A, "group", gsid);
    wa_set_principal(A, "offline", usid[0]);
    wa_set_principal(A, "online", usid[1]);
    int who = A->offline ? 0 : 1;
    A->user_name = _wcsdup(names[who]);
    A->password = pw[who];
    pw[who] = NULL;
  }
  for (int i = 0; i < 2; i++) {
    if (pw[i]) {
      SecureZeroMemory(pw[i], wcslen(pw[i]) * sizeof(wchar_t));
      free(pw[i]);
    }
    free(names[i]);
    free(usid[i]);
  }
  free(gsid);
  free(group);
  cJSON_Delete(secrets);
  free(secrets_file);
  return ok;
}

#else
typedef int csb_winacl_apply_win_users_unused;
#endif /* _WIN32 */

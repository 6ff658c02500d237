/* apply_win.h - internals of the Windows applier (apply_win*.c). Only
 * compiled for Windows. See apply.h for the entry point and
 * docs/csb-winacl.md for the order of the steps. */
#ifndef CSB_WINACL_APPLY_WIN_H
#define CSB_WINACL_APPLY_WIN_H

#if defined(_WIN32)

#include <windows.h>

#include "cJSON.h"
#include "csb_base.h"
#include "winfs.h"

/* One change made to the machine, undone in reverse order when a later
 * step fails before the command starts. */
typedef enum {
  WA_UNDO_DACL = 1,   /* restore `sd` (the original DACL) on `path` */
  WA_UNDO_MKDIR,      /* remove the (empty) directory `path` */
  WA_UNDO_FILE,       /* restore `data` (len) at `path`, or delete it when had_file is 0 */
  WA_UNDO_FW_RULE,    /* remove the firewall rule named `path` */
  WA_UNDO_USER,       /* delete the local account named `path` */
  WA_UNDO_GROUP,      /* delete the local group named `path` */
} wa_undo_kind;

typedef struct wa_undo {
  wa_undo_kind kind;
  wchar_t *path;
  PSECURITY_DESCRIPTOR sd; /* LocalAlloc'd */
  char *data;
  size_t len;
  int had_file;
} wa_undo;

typedef struct wa_principal {
  char *name; /* "group", "offline", "cap:c:/repo", ... */
  PSID sid;   /* csb_xmalloc'd copy */
} wa_principal;

typedef struct applier {
  const cJSON *plan;
  wfs *fs;
  csb_error *err;
  int elevated;
  int offline;
  const char *identity;  /* "offline", "online" or "real_user" */
  char *home;            /* csb home (Windows path) */
  wa_principal *principals;
  size_t n_principals;
  wa_undo *undo;
  size_t n_undo, cap_undo;
  csb_strv warnings;
  csb_strv revoke;       /* stale deny-read paths of the group (wa_state_revocations) */
  /* credentials of the sandbox user (elevated) */
  wchar_t *user_name;
  wchar_t *password;
  int com_ready;
  int code; /* exit code of the first failure */
} applier;

/* ---- helpers (apply_win.c) ---- */
wchar_t *wa_wide(const char *s);
char *wa_utf8(const wchar_t *w);
/* Host path of a plan path as a `\\?\` wide string (the fs root applied). */
wchar_t *wa_host_wide(applier *A, const char *path);
int wa_fail(applier *A, int code, const char *fmt, ...) CSB_PRINTF(3, 4);
int wa_fail_win(applier *A, const char *what, const char *path, DWORD e);
void wa_warn(applier *A, const char *fmt, ...) CSB_PRINTF(2, 3);
void wa_journal(applier *A, wa_undo u);
const char *wa_str(const cJSON *obj, const char *key);
PSID wa_principal_sid(applier *A, const char *name);
void wa_set_principal(applier *A, const char *name, PSID sid);
char *wa_sid_string(PSID sid);
/* Random bytes from the system RNG; 1/0. */
int wa_random(void *buf, size_t n);
/* Reads / replaces a small file through the fs mapping, journalled. */
int wa_read_file(applier *A, const char *path, char **out, size_t *len);
int wa_replace_file(applier *A, const char *path, const char *data, size_t len);

/* ---- accounts and secrets (apply_win_users.c) ---- */
/* Resolves (creating when missing, which needs elevation) the sandbox group
 * and users, their credentials and SIDs: principals group, offline, online. */
int wa_provision(applier *A);
/* Deletes an account or group created by this run (rollback). */
void wa_undo_account(const wa_undo *u);

/* ---- firewall and WFP (apply_win_net.c) ---- */
int wa_firewall(applier *A);
void wa_wfp(applier *A); /* best effort: failures are warnings */
/* Removes a firewall rule created by this run (rollback). */
void wa_undo_fw_rule(applier *A, const wa_undo *u);

/* ---- desktop, tokens and the command (apply_win_run.c) ---- */
/* Runs the command (the runner for the elevated backend) and returns its
 * exit status; on failure returns -1 with A->err set. */
int wa_launch(applier *A, char *const *cmd, int *exit_code);
/* `csb-winacl __runner ...`: runs inside the sandbox user's logon session,
 * restricts its own token and runs the command (elevated backend). */
int wa_runner_main(int argc, char **argv);

#endif /* _WIN32 */
#endif /* CSB_WINACL_APPLY_WIN_H */

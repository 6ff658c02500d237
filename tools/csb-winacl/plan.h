/* plan.h - csb-winacl's planner: csb.policy/v1 (platform windows) -> the
 * JSON plan of identities, ACEs, firewall rules and setup state that
 * enforces it (format: docs/csb-winacl.md). Portable C: the file system
 * is reached only through winfs. */
#ifndef CSB_WINACL_PLAN_H
#define CSB_WINACL_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "cJSON.h"
#include "csb_base.h"
#include "csb_policy.h"
#include "winfs.h"

#define WA_PLAN_SCHEMA "csb.winacl.plan/v1"
/* Version of the setup marker (<csb home>\.sandbox\setup_marker.json). */
#define WA_SETUP_VERSION 1

typedef enum { WA_ELEVATED = 0, WA_UNELEVATED = 1 } wa_backend;

/* Accounts and names csb provisions on Windows. */
#define WA_OFFLINE_USER "CsbSandboxOffline"
#define WA_ONLINE_USER "CsbSandboxOnline"
#define WA_USERS_GROUP "CsbSandboxUsers"
#define WA_DESKTOP_PREFIX "CsbSandboxDesktop-"

/* Access masks (winnt.h values). */
#define WA_FILE_GENERIC_READ 0x00120089u
#define WA_FILE_GENERIC_WRITE 0x00120116u
#define WA_FILE_GENERIC_EXECUTE 0x001200A0u
#define WA_DELETE 0x00010000u
#define WA_FILE_DELETE_CHILD 0x00000040u
#define WA_GENERIC_READ 0x80000000u
#define WA_GENERIC_WRITE 0x40000000u
#define WA_GENERIC_ALL 0x10000000u
#define WA_MASK_READ_EXECUTE (WA_FILE_GENERIC_READ | WA_FILE_GENERIC_EXECUTE)
#define WA_MASK_RWX (WA_FILE_GENERIC_READ | WA_FILE_GENERIC_WRITE | WA_FILE_GENERIC_EXECUTE)
/* Write roots: no FILE_DELETE_CHILD, which would bypass the deny ACEs of
 * children. */
#define WA_MASK_WRITE_ALLOW (WA_MASK_RWX | WA_DELETE)
#define WA_MASK_RWXD WA_MASK_WRITE_ALLOW
#define WA_MASK_DENY_WRITE                                                                   \
  (WA_FILE_GENERIC_WRITE | 0x2u /* WRITE_DATA */ | 0x4u /* APPEND_DATA */ |                 \
   0x10u /* WRITE_EA */ | 0x100u /* WRITE_ATTRIBUTES */ | WA_GENERIC_WRITE | WA_DELETE |    \
   WA_FILE_DELETE_CHILD)
#define WA_MASK_DENY_READ (WA_FILE_GENERIC_READ | WA_GENERIC_READ)

/* Desktop rights: ALL and what a participant gets (ALL without WRITE_DAC,
 * WRITE_OWNER and DELETE). */
#define WA_DESKTOP_ALL 0x000F01FFu
#define WA_DESKTOP_PARTICIPANT 0x000201FFu

#define WA_DEFAULT_MAX_DENY_READ_PATHS 100000u
#define WA_MAX_PROXY_PORTS 64

typedef struct wa_opts {
  wa_backend backend;
  char *csb_home;        /* normalised Windows path (required) */
  char *user_profile;    /* normalised, or NULL */
  csb_strv temp_dirs;    /* normalised, in order */
  csb_strv sids;         /* "NAME=SID" for group, offline, online, real_user, logon */
  int proxy_ports[WA_MAX_PROXY_PORTS]; /* extra loopback proxy ports */
  size_t n_proxy_ports;
  int private_desktop;   /* default 1 */
  int best_effort_network; /* unelevated: accept environment-only blocking */
  size_t max_deny_read_paths;
} wa_opts;

void wa_opts_init(wa_opts *o);
void wa_opts_free(wa_opts *o);

/* Plans `p` for the backend in `o` on the file system `fs`. On success
 * returns CSB_EXIT_OK with *out the plan. Otherwise returns the exit code
 * (CSB_EXIT_UNAVAILABLE for the fail-closed verdicts, CSB_EXIT_DATA for
 * corrupt csb state files, CSB_EXIT_USAGE for bad options) with err set
 * to the message (for verdicts: the upstream text, then the rule, the
 * backend and the fix in parentheses). */
int wa_plan(const csb_policy *p, wfs *fs, const wa_opts *o, cJSON **out, csb_error *err);

/* ---- shared with the applier and the simulator ---------------------------- */

const char *wa_backend_name(wa_backend b);
/* The symbolic name of a mask the planner uses ("DENY_READ", ...), or NULL. */
const char *wa_mask_name(uint32_t mask);
/* 1 when `s` is a SID string (S-1-<authority>(-<subauthority>)+). */
int wa_is_sid(const char *s);
/* A SID string (wa_is_sid) as Windows writes it (ConvertSidToStringSid)
 * for authorities below 2^32: `S`, numbers without leading zeros. The
 * deny-read state is keyed by that spelling. Caller frees. */
char *wa_sid_canonical(const char *s);
/* 1 when `s` has the form of a capability SID as csb and Codex create them:
 * S-1-5-21- and four 32-bit subauthorities. A well-known or account SID
 * (Everyone, Users, a domain group) is not one. */
int wa_is_cap_sid(const char *s);
/* The firewall complement of sorted, distinct ports (1..65535): "1-3127,3129-65535";
 * "" when every port is listed. Caller frees. */
char *wa_port_complement(const int *ports, size_t n);
/* Loopback port of a proxy URL ("http://127.0.0.1:3128", "socks5h://[::1]:1080",
 * userinfo allowed; the port must be explicit and non-zero), else 0. */
int wa_loopback_url_port(const char *url);

/* The paths whose deny-read ACEs of the group the applier revokes, given
 * the plan's `deny_read.state` (checked) and `stored`, the list the state
 * file holds now for the group's SID (NULL: none): the plan's `revoke`
 * when the plan knew the group's SID (`sid_known`), else every stored
 * path that is not one of the plan's `record` (compared as NTFS compares
 * names). Appended to *out, in stored order. */
void wa_state_revocations(const cJSON *state, const cJSON *stored, int sid_known, csb_strv *out);

/* 1 when `have` (what the deny-read state holds for the group now; NULL:
 * nothing) is the plan's `recorded` list (NULL: empty), string for
 * string in order; 0 otherwise (the plan is stale). One pass over each. */
int wa_state_recorded_same(const cJSON *have, const cJSON *recorded);

/* Bound on a plan file. */
#define WA_MAX_PLAN_BYTES ((size_t)256 << 20)
/* 1 when `plan` (parsed, WA_MAX_PLAN_BYTES at most) is a plan whose members the applier and the simulator
 * can read as they do: the schema, and every value they use without
 * looking first has its type (ACE strings, audit limits, capability and
 * state files, the token's SID lists, ...). Else 0 with err naming the
 * first member that is missing or of another type. */
int wa_plan_check(const cJSON *plan, csb_error *err);

#endif /* CSB_WINACL_PLAN_H */

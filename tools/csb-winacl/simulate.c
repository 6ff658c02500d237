/* simulate.c - the file-system effects of applying a plan, on any host:
 * creates the directories the plan materialises and writes the capability
 * SID record, the deny-read state and the setup marker exactly as the
 * applier does, but sets no ACE, firewall rule or account. Planning again
 * afterwards shows what remains pending (nothing, for an idempotent plan). */
#include "simulate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csb_cli.h"
#include "csb_json.h"
#include "plan.h"

static const char *str(const cJSON *obj, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *get(const cJSON *obj, const char *key) {
  return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* A stand-in SID for the simulation: derived from the name (FNV-1a), so
 * runs are reproducible. Real SIDs are random (apply). */
static char *fake_sid(const char *name) {
  uint32_t parts[4];
  for (int k = 0; k < 4; k++) {
    uint32_t h = 2166136261u ^ (uint32_t)k;
    for (const char *c = name; *c; c++) {
      h ^= (unsigned char)*c;
      h *= 16777619u;
    }
    parts[k] = h;
  }
  return csb_xasprintf("S-1-5-21-%u-%u-%u-%u", parts[0], parts[1], parts[2], parts[3]);
}

static int write_json(wfs *fs, const char *file, const cJSON *doc, csb_error *err) {
  char *text = csb_json_print_str(doc, 0);
  int ok = wfs_write_file(fs, file, text, strlen(text), err);
  free(text);
  return ok;
}

static int read_json(wfs *fs, const char *file, cJSON **out) {
  *out = NULL;
  if (wfs_lkind(fs, file) != WFS_FILE) return 0;
  char *text = NULL;
  size_t len = 0;
  int ok = wfs_read(fs, file, 64u << 20, &text, &len, NULL) && csb_json_parse(text, len, out, NULL);
  free(text);
  return ok && cJSON_IsObject(*out);
}

/* What the capability SID record is now, as the applier tells it:
 * `missing`, `record` (a JSON object, in *rec), `plain-sid` (an older
 * layout, as the `workspace` member of *rec) or `corrupt`. */
static const char *cap_record_now(wfs *fs, const char *file, cJSON **rec) {
  *rec = NULL;
  if (wfs_lkind(fs, file) == WFS_MISSING) {
    *rec = csb_json_new_object();
    return "missing";
  }
  if (read_json(fs, file, rec)) return "record";
  cJSON_Delete(*rec);
  *rec = NULL;
  char *text = NULL;
  size_t len = 0;
  const char *now = "corrupt";
  if (wfs_lkind(fs, file) == WFS_FILE && wfs_read(fs, file, 4096, &text, &len, NULL)) {
    char *e = text + strlen(text);
    while (e > text && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ')) *--e = '\0';
    if (wa_is_cap_sid(text)) {
      *rec = csb_json_new_object();
      csb_json_add_string(*rec, "workspace", text);
      now = "plain-sid";
    }
  }
  free(text);
  return now;
}

static int stale(const char *what, csb_error *err) {
  csb_error_set(err,
                "the plan is stale: %s changed since it was made; refusing to simulate (fix: run "
                "`csb-winacl plan` again and simulate the new plan)",
                what);
  return CSB_EXIT_UNAVAILABLE;
}

/* The record as the plan found it (else stale), loaded into *rec. */
static int caps_check(wfs *fs, const cJSON *plan, cJSON **rec, csb_error *err) {
  const cJSON *c = get(plan, "capability_sids");
  const char *now = cap_record_now(fs, str(c, "file"), rec);
  if (strcmp(str(c, "status"), now) != 0) return stale("the capability SID record", err);
  return 0;
}

static int caps(wfs *fs, const cJSON *plan, cJSON *rec, csb_buf *log, csb_error *err) {
  const cJSON *c = get(plan, "capability_sids");
  const char *file = str(c, "file");
  const char *status = str(c, "status");
  int changed = strcmp(status, "record") != 0;
  for (const cJSON *e = get(c, "entries") ? get(c, "entries")->child : NULL; e; e = e->next) {
    if (str(e, "sid") != NULL) continue;
    const char *slot = str(e, "slot"), *key = str(e, "key");
    char *sid = fake_sid(str(e, "trustee"));
    if (key == NULL) {
      cJSON_DeleteItemFromObjectCaseSensitive(rec, slot);
      csb_json_add_string(rec, slot, sid);
    } else {
      cJSON *map = cJSON_GetObjectItemCaseSensitive(rec, slot);
      if (!cJSON_IsObject(map)) {
        cJSON_DeleteItemFromObjectCaseSensitive(rec, slot);
        map = csb_json_add_object(rec, slot);
      }
      csb_json_add_string(map, key, sid);
    }
    csb_buf_printf(log, "capability SID %s = %s\n", str(e, "trustee"), sid);
    free(sid);
    changed = 1;
  }
  if (changed) {
    if (!write_json(fs, file, rec, err)) return 0;
    csb_buf_printf(log, "wrote %s\n", file);
  }
  return 1;
}

/* The deny-read state as the plan found it (else stale): its status, and
 * what it records for the group when the plan knows the group's SID;
 * loaded into *doc when it is `ok`. */
static int state_check(wfs *fs, const cJSON *plan, cJSON **doc, csb_error *err) {
  *doc = NULL;
  const cJSON *st = get(get(plan, "deny_read"), "state");
  if (!cJSON_IsObject(st)) return 0; /* none, or null */
  const char *file = str(st, "file");
  const char *now = "missing";
  if (wfs_lkind(fs, file) != WFS_MISSING) {
    now = "corrupt";
    if (read_json(fs, file, doc) && cJSON_IsObject(get(*doc, "principals"))) now = "ok";
  }
  if (strcmp(now, "ok") != 0) {
    cJSON_Delete(*doc);
    *doc = NULL;
  }
  if (strcmp(str(st, "status"), now) != 0) return stale("the deny-read state", err);
  const char *sid = str(get(get(plan, "principals"), "group"), "sid");
  if (sid == NULL) return 0;
  const cJSON *have = get(get(*doc, "principals"), sid);
  const cJSON *rec = get(st, "recorded");
  if (!wa_state_recorded_same(have, rec)) return stale("the deny-read state recorded for the group", err);
  return 0;
}

static int state(wfs *fs, const cJSON *plan, cJSON *doc, csb_buf *log, csb_error *err) {
  const cJSON *st = get(get(plan, "deny_read"), "state");
  if (!cJSON_IsObject(st)) return 1; /* none, or null */
  const char *file = str(st, "file");
  const char *status = str(st, "status");
  const char *sid = str(get(get(plan, "principals"), "group"), "sid");
  if (strcmp(status, "corrupt") == 0) {
    char *bak = csb_xasprintf("%s.corrupt", file);
    int ok = wfs_rename(fs, file, bak, err);
    if (ok) csb_buf_printf(log, "renamed %s to %s\n", file, bak);
    free(bak);
    if (!ok) return 0;
  }
  if (!cJSON_IsTrue(get(get(plan, "pending"), "write_deny_read_state"))) return 1;
  if (sid == NULL) {
    csb_buf_printf(log, "skipped %s: the plan does not know the group SID\n", file);
    return 1;
  }
  cJSON *pr = cJSON_GetObjectItemCaseSensitive(doc, "principals");
  if (!cJSON_IsObject(pr)) {
    cJSON_DeleteItemFromObjectCaseSensitive(doc, "principals");
    pr = csb_json_add_object(doc, "principals");
  }
  cJSON_DeleteItemFromObjectCaseSensitive(pr, sid);
  const cJSON *record = get(st, "record");
  if (cJSON_GetArraySize(record) > 0) cJSON_AddItemToObject(pr, sid, cJSON_Duplicate(record, 1));
  int ok = write_json(fs, file, doc, err);
  if (ok) csb_buf_printf(log, "wrote %s\n", file);
  return ok;
}

static int marker(wfs *fs, const cJSON *plan, csb_buf *log, csb_error *err) {
  const cJSON *m = get(plan, "setup_marker");
  if (!cJSON_IsObject(m) || !cJSON_IsTrue(get(get(plan, "pending"), "write_setup_marker"))) return 1;
  cJSON *doc = csb_json_new_object();
  static const char *const keys[] = {"version", "offline_username", "online_username",
                                     "proxy_ports", "allow_local_binding"};
  for (size_t i = 0; i < CSB_ARRAY_LEN(keys); i++)
    cJSON_AddItemToObject(doc, keys[i], cJSON_Duplicate(get(m, keys[i]), 1));
  int ok = write_json(fs, str(m, "file"), doc, err);
  if (ok) csb_buf_printf(log, "wrote %s\n", str(m, "file"));
  cJSON_Delete(doc);
  return ok;
}

int wa_simulate(const cJSON *plan, wfs *fs, csb_buf *log, csb_error *err) {
  if (!wa_plan_check(plan, err)) return CSB_EXIT_DATA;
  /* What the plan was made from must still be there, before anything
   * changes (as apply checks). */
  cJSON *rec = NULL, *doc = NULL;
  int rc = caps_check(fs, plan, &rec, err);
  if (rc == 0) rc = state_check(fs, plan, &doc, err);
  if (rc != 0) {
    cJSON_Delete(rec);
    cJSON_Delete(doc);
    return rc;
  }
  if (doc == NULL) doc = csb_json_new_object();
  int ok = 1;
  for (const cJSON *m = get(plan, "mkdir") ? get(plan, "mkdir")->child : NULL; ok && m; m = m->next) {
    ok = wfs_mkdirs(fs, str(m, "path"), err);
    const char *why = str(m, "for");
    if (ok) csb_buf_printf(log, "created %s (%s)\n", str(m, "path"), why ? why : "?");
  }
  ok = ok && caps(fs, plan, rec, log, err) && state(fs, plan, doc, log, err) &&
       marker(fs, plan, log, err);
  cJSON_Delete(rec);
  cJSON_Delete(doc);
  return ok ? 0 : CSB_EXIT_OSERR;
}

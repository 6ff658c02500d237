/* profile.c - the SBPL profile generator.
 *
 * Section order (docs/csb-seatbelt.md): header, base, file reads, file
 * writes (+ writable-root anchors), network, preferences, platform
 * defaults (+ denies keeping unreadable paths unreadable), deny-read
 * globs, protected ancestors. Parameters are passed with -D in the order
 * read (+ unreadable), write, protected ancestors, Unix sockets.
 * Seatbelt applies the last rule that matches an operation, so the denies
 * that must not be re-opened come last. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "csb_paths.h"
#include "sbpl_internal.h"

typedef struct gen {
  const csb_policy *p;
  const csb_policy_view *v;
  const csb_sbpl_host *h;
  const csb_sbpl_opts *o;
  csb_strv params;
  csb_strv warnings;
  csb_strv ancestors; /* protected ancestors, collected with the writes */
  csb_buf platform_denies; /* keeps :minimal from re-opening unreadable paths */
  csb_buf exec_denies;     /* keeps the base from running unreadable paths */
  csb_error *err;
} gen;

static void add_param(gen *g, const char *key, const char *value) {
  csb_strv_pushf(&g->params, "%s=%s", key, value);
}

static void push_unique(csb_strv *v, const char *s) {
  if (!csb_strv_contains(v, s)) csb_strv_push(v, s);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void sort_strv(csb_strv *v) {
  if (v->len > 1) qsort(v->items, v->len, sizeof(char *), cmp_str);
}

/* ---- regexes ------------------------------------------------------------------ */

char *csb_sbpl_ere_escape(const char *s) {
  csb_buf b;
  csb_buf_init(&b);
  csb_buf_puts(&b, "");
  for (; *s; s++) {
    if (strchr(".[]{}()*+?^$|\\", *s)) csb_buf_putc(&b, '\\');
    csb_buf_putc(&b, *s);
  }
  return csb_buf_steal(&b);
}

int csb_sbpl_regex_literal(const char *re, char **out, csb_error *err) {
  *out = NULL;
  int quote = 0;
  for (const unsigned char *s = (const unsigned char *)re; *s;) {
    if (*s < 0x20 || *s == 0x7f)
      return csb_error_set(err, "its regex would contain a control character (0x%02x), which a "
                                "Seatbelt profile cannot carry", *s);
    size_t n = csb_utf8_decode((const char *)s, 4, NULL, NULL);
    if (n == 0)
      return csb_error_set(err, "its regex would not be valid UTF-8, which a Seatbelt profile "
                                "cannot carry");
    if (*s == '"') quote = 1;
    s += n;
  }
  if (!quote) {
    *out = csb_xasprintf("#\"%s\"", re);
    return 1;
  }
  csb_buf b;
  csb_buf_init(&b);
  csb_buf_putc(&b, '"');
  for (const char *s = re; *s; s++) {
    if (*s == '"' || *s == '\\') csb_buf_putc(&b, '\\');
    csb_buf_putc(&b, *s);
  }
  csb_buf_putc(&b, '"');
  *out = csb_buf_steal(&b);
  return 1;
}

/* `s` for a message: control bytes as \xNN. */
static char *printable(const char *s) {
  csb_buf b;
  csb_buf_init(&b);
  csb_buf_puts(&b, "");
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    if (*c < 0x20 || *c == 0x7f)
      csb_buf_printf(&b, "\\x%02x", *c);
    else
      csb_buf_putc(&b, (char)*c);
  }
  return csb_buf_steal(&b);
}

/* "(regex LIT)" for a regex, or 0 with an error naming the rule (`what`
 * `subject`) and the fix. */
static int regex_filter(gen *g, const char *re, const char *what, const char *subject,
                        csb_buf *out) {
  char *lit = NULL;
  csb_error e;
  csb_error_clear(&e);
  if (!csb_sbpl_regex_literal(re, &lit, &e)) {
    char *shown = printable(subject);
    csb_error_set(g->err, "%s `%s`: %s; rename the path or drop the rule", what, shown, e.msg);
    free(shown);
    return 0;
  }
  csb_buf_printf(out, "(regex %s)", lit);
  free(lit);
  return 1;
}

static char *any_spelling_regex(const char *root, const char *path, int subtree);

/* ---- file reads ----------------------------------------------------------------- */

static void exclusion(csb_buf *b, const char *key) {
  csb_buf_printf(b, "\n    (require-not (literal (param \"%s\")))", key);
  csb_buf_printf(b, "\n    (require-not (subpath (param \"%s\")))", key);
}

/* `(deny OPS FILTER)` for each unreadable path (UNREADABLE_ROOT_k, and
 * the regex naming it in every spelling, folded in full: the rules these
 * denies stand against name no root of the policy's), except below the
 * readable roots that re-open part of it. */
static void unreadable_rules(gen *g, const char *ops, csb_buf *b) {
  const csb_policy_view *v = g->v;
  for (size_t k = 0; k < v->unreadable_roots.len; k++) {
    const char *u = v->unreadable_roots.items[k];
    char *cu = csb_sbpl_canonical(g->h, u);
    csb_buf buf;
    csb_buf_init(&buf);
    csb_buf_puts(&buf, "");
    for (size_t i = 0; i < v->readable_roots.len; i++) {
      const char *r = v->readable_roots.items[i];
      if (csb_path_is_strictly_under(u, r))
        csb_buf_printf(&buf, "\n    (require-not (subpath (param \"READABLE_ROOT_%zu\")))", i);
    }
    if (buf.len == 0)
      csb_buf_printf(b, "(deny %s (subpath (param \"UNREADABLE_ROOT_%zu\")))\n", ops, k);
    else
      csb_buf_printf(b, "(deny %s\n  (require-all (subpath (param \"UNREADABLE_ROOT_%zu\"))%s))\n",
                     ops, k, buf.data);
    char *re = any_spelling_regex("/", cu, 1);
    if (re != NULL) {
      csb_buf rf;
      csb_buf_init(&rf);
      regex_filter(g, re, "unreadable path", cu, &rf);
      if (buf.len == 0)
        csb_buf_printf(b, "(deny %s %s)\n", ops, rf.data);
      else
        csb_buf_printf(b, "(deny %s\n  (require-all %s%s))\n", ops, rf.data, buf.data);
      csb_buf_free(&rf);
    }
    free(re);
    csb_buf_free(&buf);
    free(cu);
  }
}

/* The base section allows every process-exec, and a process can read the
 * image it runs: nothing the policy makes unreadable may run (the deny
 * globs' regexes get the same deny in their section). The platform
 * defaults (`:minimal`) come after the file rules and grant reads below
 * /etc, /usr/lib, ...; an unreadable path there must stay unreadable (and
 * unwritable), except below the readable roots that re-open part of it. */
static void unreadable_denies(gen *g) {
  const csb_policy_view *v = g->v;
  if (v->unreadable_roots.len == 0) return;
  for (size_t k = 0; k < v->unreadable_roots.len; k++) {
    char *cu = csb_sbpl_canonical(g->h, v->unreadable_roots.items[k]);
    char *key = csb_xasprintf("UNREADABLE_ROOT_%zu", k);
    add_param(g, key, cu);
    free(key);
    free(cu);
  }
  csb_buf *out = &g->exec_denies;
  csb_buf_puts(out, ";; execution: nothing unreadable runs (a process can read its own image)\n");
  unreadable_rules(g, "process-exec", out);
  if (!v->include_platform_defaults) return;
  csb_buf_puts(&g->platform_denies, "; the policy's unreadable paths stay unreadable\n");
  unreadable_rules(g, "file-read* file-write*", &g->platform_denies);
}

/* The syslog socket the platform defaults let a process connect to. */
#define SYSLOG_SOCKET "/private/var/run/syslog"

/* The platform defaults come after the network rules and grant a
 * connection to the syslog socket; a policy that denies it (a deny entry
 * other than `/` deciding the path, a deny glob matching it, or a
 * unix_sockets deny that no deeper allow re-opens) keeps it closed. */
static void syslog_deny(gen *g) {
  csb_verdict vd;
  csb_policy_access_for(g->p, SYSLOG_SOCKET, &vd);
  int deny = vd.reason == CSB_REASON_DENY_GLOB ||
             (vd.reason == CSB_REASON_ENTRY && vd.access == CSB_ACCESS_DENY &&
              strcmp(g->p->entries[vd.entry].path, "/") != 0);
  /* A deny glob matching it, also where no rule covers the path (the
   * verdict then stops at "no rule"), in either spelling of /var. */
  for (size_t i = 0; i < g->p->n_globs && !deny; i++) {
    csb_glob *gl = NULL;
    if (!csb_glob_compile(g->p->globs[i].pattern, &gl, NULL)) continue;
    deny = csb_glob_match(gl, SYSLOG_SOCKET) || csb_glob_match(gl, "/var/run/syslog");
    csb_glob_free(gl);
  }
  size_t depth = 0;
  int found = 0, allow = 0;
  for (size_t i = 0; i < g->p->n_unix_sockets; i++) {
    char *c = csb_sbpl_canonical(g->h, g->p->unix_sockets[i].path);
    if (csb_path_is_under(c, SYSLOG_SOCKET)) {
      size_t d = csb_path_depth(c);
      int a = g->p->unix_sockets[i].allow != 0;
      /* The deepest rule decides; a deny wins at equal depth. */
      if (!found || d > depth || (d == depth && !a)) {
        depth = d;
        allow = a;
      }
      found = 1;
    }
    free(c);
  }
  if (!deny && !(found && !allow)) return;
  csb_buf_puts(&g->platform_denies, "; the policy denies the syslog socket\n");
  csb_buf_puts(&g->platform_denies,
               "(deny network-outbound (literal \"" SYSLOG_SOCKET "\"))\n");
}

static int read_section(gen *g, csb_buf *out) {
  const csb_policy_view *v = g->v;
  if (v->full_read) {
    csb_buf_puts(out, ";; file reads: every path\n(allow file-read*)\n");
    return 1;
  }
  if (v->readable_roots.len == 0) {
    unreadable_denies(g);
    return 1;
  }
  csb_buf_puts(out, ";; file reads: readable roots minus the unreadable paths below them\n");
  csb_buf_puts(out, "(allow file-read*");
  for (size_t i = 0; i < v->readable_roots.len; i++) {
    const char *root = v->readable_roots.items[i];
    char *croot = csb_sbpl_canonical(g->h, root);
    char *key = csb_xasprintf("READABLE_ROOT_%zu", i);
    add_param(g, key, croot);
    csb_strv ex;
    csb_strv_init(&ex);
    for (size_t k = 0; k < v->unreadable_roots.len; k++) {
      const char *u = v->unreadable_roots.items[k];
      char *cu = csb_sbpl_canonical(g->h, u);
      if (csb_path_is_under(root, u) || csb_path_is_under(croot, cu)) push_unique(&ex, cu);
      free(cu);
    }
    if (ex.len == 0) {
      csb_buf_printf(out, "\n  (subpath (param \"%s\"))", key);
    } else {
      csb_buf_printf(out, "\n  (require-all (subpath (param \"%s\"))", key);
      for (size_t j = 0; j < ex.len; j++) {
        char *k2 = csb_xasprintf("%s_EXCLUDED_%zu", key, j);
        add_param(g, k2, ex.items[j]);
        exclusion(out, k2);
        char *re = any_spelling_regex(croot, ex.items[j], 1);
        if (re != NULL) {
          csb_buf_puts(out, "\n    (require-not ");
          regex_filter(g, re, "unreadable path", ex.items[j], out);
          csb_buf_putc(out, ')');
        }
        free(re);
        free(k2);
      }
      csb_buf_putc(out, ')');
    }
    csb_strv_free(&ex);
    free(key);
    free(croot);
  }
  csb_buf_puts(out, ")\n");
  unreadable_denies(g);
  return 1;
}

/* ---- file writes ------------------------------------------------------------------ */

/* Adds the directories from parent(y) up to `root` (inclusive). */
static void add_ancestors(gen *g, const char *root, const char *y) {
  if (!csb_path_is_strictly_under(root, y)) return;
  char *a = csb_path_parent(y);
  while (a != NULL && csb_path_is_under(root, a)) {
    push_unique(&g->ancestors, a);
    char *up = csb_path_parent(a);
    free(a);
    a = up;
  }
  free(a);
}

/* The spellings a case-insensitive volume takes for one name, as an ERE
 * (no anchors), or NULL when the name holds a byte that is not ASCII.
 * APFS compares names after canonical decomposition and full case
 * folding, so besides either case of each ASCII letter, a name may spell
 * s as U+017F, k as U+212A, ss as U+00DF or U+1E9E, ff, fi, fl, ffi, ffl
 * and st as the ligatures U+FB00..U+FB06, and `;` and the grave accent as
 * U+037E and U+1FEF (which decompose to them). No other character folds
 * or decomposes to ASCII. */
static const struct {
  const char *letters; /* lower case */
  const char *alternatives;
} k_folded_runs[] = {
    {"ffi", "\xef\xac\x83"}, {"ffl", "\xef\xac\x84"}, {"ff", "\xef\xac\x80"},
    {"fi", "\xef\xac\x81"},  {"fl", "\xef\xac\x82"},  {"ss", "\xc3\x9f|\xe1\xba\x9e"},
    {"st", "\xef\xac\x85|\xef\xac\x86"},
};

static void fold_char(csb_buf *b, char c) {
  if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
  if (c == 's')
    csb_buf_puts(b, "(s|S|\xc5\xbf)");
  else if (c == 'k')
    csb_buf_puts(b, "(k|K|\xe2\x84\xaa)");
  else if (c >= 'a' && c <= 'z')
    csb_buf_printf(b, "[%c%c]", c, c - 'a' + 'A');
  else if (c == ';')
    csb_buf_puts(b, "(;|\xcd\xbe)");
  else if (c == '`')
    csb_buf_puts(b, "(`|\xe1\xbf\xaf)");
  else {
    char one[2] = {c, '\0'};
    char *e = csb_sbpl_ere_escape(one);
    csb_buf_puts(b, e);
    free(e);
  }
}

/* Longest regex one folded name may take (a name of many `ss`, `ff` and
 * `st` runs grows exponentially); a longer one refuses the policy. */
#define FOLDED_NAME_MAX 4096

/* The spellings of name[i..]: each character folded, or a run of letters
 * as one of its ligatures (then the rest after it). Stops early once the
 * regex is too long (the caller then refuses it). */
static void fold_from(csb_buf *b, const char *name) {
  if (*name == '\0' || b->len > FOLDED_NAME_MAX) return;
  int alt = 0;
  for (size_t k = 0; k < CSB_ARRAY_LEN(k_folded_runs); k++)
    alt |= strncasecmp(name, k_folded_runs[k].letters, strlen(k_folded_runs[k].letters)) == 0;
  if (!alt) {
    fold_char(b, *name);
    fold_from(b, name + 1);
    return;
  }
  csb_buf_putc(b, '(');
  fold_char(b, *name);
  fold_from(b, name + 1);
  for (size_t k = 0; k < CSB_ARRAY_LEN(k_folded_runs); k++) {
    size_t n = strlen(k_folded_runs[k].letters);
    if (strncasecmp(name, k_folded_runs[k].letters, n) != 0) continue;
    csb_buf_printf(b, "|(%s)", k_folded_runs[k].alternatives);
    fold_from(b, name + n);
  }
  csb_buf_putc(b, ')');
}

/* Characters outside ASCII that fold (or decompose) to ASCII letters. */
static const struct {
  const char *utf8;
  const char *ascii;
} k_folds_to_ascii[] = {
    {"\xc5\xbf", "s"},      {"\xe2\x84\xaa", "k"},  {"\xc3\x9f", "ss"},     {"\xe1\xba\x9e", "ss"},
    {"\xef\xac\x80", "ff"}, {"\xef\xac\x81", "fi"}, {"\xef\xac\x82", "fl"}, {"\xef\xac\x83", "ffi"},
    {"\xef\xac\x84", "ffl"}, {"\xef\xac\x85", "st"}, {"\xef\xac\x86", "st"}, {"\xcd\xbe", ";"},
    {"\xe1\xbf\xaf", "`"},
};

/* NULL when the name, its characters that fold to ASCII folded, still
 * holds a byte that is not ASCII, or its regex grows too long. */
static char *fold_name_ere(const char *name) {
  csb_buf a;
  csb_buf_init(&a);
  csb_buf_puts(&a, "");
  for (const char *c = name; *c;) {
    size_t k = 0;
    for (; k < CSB_ARRAY_LEN(k_folds_to_ascii); k++) {
      size_t n = strlen(k_folds_to_ascii[k].utf8);
      if (strncmp(c, k_folds_to_ascii[k].utf8, n) == 0) {
        csb_buf_puts(&a, k_folds_to_ascii[k].ascii);
        c += n;
        break;
      }
    }
    if (k < CSB_ARRAY_LEN(k_folds_to_ascii)) continue;
    if ((unsigned char)*c >= 0x80) {
      csb_buf_free(&a);
      return NULL;
    }
    csb_buf_putc(&a, *c++);
  }
  csb_buf b;
  csb_buf_init(&b);
  csb_buf_puts(&b, "");
  fold_from(&b, a.data);
  csb_buf_free(&a);
  if (b.len > FOLDED_NAME_MAX) {
    csb_buf_free(&b);
    return NULL;
  }
  return csb_buf_steal(&b);
}

/* ^DIR/C1/.../Cn(/.*)?$ for the relative path `rel` below `dir`, every
 * component Ci in every spelling (DIR as it is); NULL when a component
 * cannot be spelled so (fold_name_ere). */
static char *folded_regex(const char *dir, const char *rel) {
  csb_buf b;
  csb_buf_init(&b);
  char *er = csb_sbpl_ere_escape(strcmp(dir, "/") == 0 ? "" : dir);
  csb_buf_printf(&b, "^%s", er);
  free(er);
  for (const char *c = rel; *c;) {
    size_t n = strcspn(c, "/");
    char *part = csb_xstrndup(c, n);
    char *en = fold_name_ere(part);
    free(part);
    if (en == NULL) {
      csb_buf_free(&b);
      return NULL;
    }
    csb_buf_printf(&b, "/%s", en);
    free(en);
    c += n;
    while (*c == '/') c++;
  }
  csb_buf_puts(&b, "(/.*)?$");
  return csb_buf_steal(&b);
}

/* ^P(/.*)?$ (or ^P$ without `subtree`) for the absolute path P, every
 * component below `root` (P itself or a directory above it, "/" for all
 * of them) in every spelling a case-insensitive volume takes for it (a
 * component fold_name_ere cannot spell stays as it is), `root` as it is;
 * NULL when that is P's own spelling alone or the regex cannot be carried
 * in a profile. A rule that names an existing path by its parameter
 * matches only where the kernel reports the path as the rule spells it,
 * and the kernel reports the name the file is stored under: a policy
 * entry `/Users/a/Secrets` for the stored `secrets` needs this regex too.
 * The root stays as it is: the rule this one sits in (an allow of the
 * readable or writable root) matches only where the kernel reports the
 * root so. */
static char *any_spelling_regex(const char *root, const char *path, int subtree) {
  if (!csb_path_is_under(root, path)) root = "/";
  const char *rest = csb_path_rest_under(root, path);
  if (rest == NULL) return NULL;
  while (*rest == '/') rest++;
  if (*rest == '\0') return NULL;
  csb_buf b, plain;
  csb_buf_init(&b);
  csb_buf_init(&plain);
  char *er = csb_sbpl_ere_escape(strcmp(root, "/") == 0 ? "" : root);
  csb_buf_printf(&b, "^%s", er);
  csb_buf_printf(&plain, "^%s", er);
  free(er);
  for (const char *c = rest; *c;) {
    while (*c == '/') c++;
    if (*c == '\0') break;
    size_t n = strcspn(c, "/");
    char *part = csb_xstrndup(c, n);
    char *lit = csb_sbpl_ere_escape(part);
    char *en = fold_name_ere(part);
    csb_buf_printf(&b, "/%s", en != NULL ? en : lit);
    csb_buf_printf(&plain, "/%s", lit);
    free(en);
    free(lit);
    free(part);
    c += n;
  }
  csb_buf_puts(&b, subtree ? "(/.*)?$" : "$");
  csb_buf_puts(&plain, subtree ? "(/.*)?$" : "$");
  char *out = NULL;
  csb_error e;
  csb_error_clear(&e);
  if (strcmp(b.data, plain.data) != 0 && csb_sbpl_regex_literal(b.data, &out, &e)) {
    free(out);
    out = csb_buf_steal(&b);
  } else {
    free(out);
    out = NULL;
  }
  csb_buf_free(&b);
  csb_buf_free(&plain);
  return out;
}

/* One protected-name regex of writable root `oroot`, for the clause of
 * writable root `root` (oroot itself or one above it). macOS file systems
 * ignore case by default, so the name matches in every spelling the file
 * system takes for it: `.GIT` is `.git` there, and a missing `.git` must
 * not be created as `.Git` either. So do the components of a nested root
 * that is missing (below its deepest existing ancestor, within `root`):
 * creating `/w/Sub` creates the missing root `/w/sub`, and `/w/Sub/.git`
 * is its `.git`. NULL when a name cannot be spelled so. */
static char *name_regex(gen *g, const char *root, const char *oroot, const char *name) {
  char *dir = csb_xstrdup(oroot);
  while (strcmp(dir, root) != 0 && g->h->kind(g->h->ctx, dir) == CSB_SBPL_MISSING) {
    char *up = csb_path_parent(dir);
    if (up == NULL || !csb_path_is_under(root, up)) {
      free(up);
      break;
    }
    free(dir);
    dir = up;
  }
  const char *rest = csb_path_rest_under(dir, oroot);
  while (rest != NULL && *rest == '/') rest++;
  char *rel = rest != NULL && *rest ? csb_path_join(rest, name) : csb_xstrdup(name);
  char *re = folded_regex(dir, rel);
  free(rel);
  free(dir);
  return re;
}

/* A missing read-only path `x` (canonical) below writable root `root`
 * (canonical): the first missing component on its way, below its deepest
 * existing ancestor E (or below the root, when the root's parent is
 * missing too: nothing here can exist before something else creates the
 * root's parent, whose own rule covers it). That component must not be
 * created in any spelling: when it is `x`, a case-insensitive volume
 * would take `X` for `x`; when it is a directory above `x`, a directory
 * renamed there or a symlink would bring `x` along (Seatbelt cannot tell
 * mkdir from a rename). Sets *dir and *name (caller frees); 0 when `x`
 * exists or does not lie below the root. */
static int first_missing(gen *g, const char *root, const char *x, char **dir, char **name) {
  *dir = *name = NULL;
  if (!csb_path_is_strictly_under(root, x) || g->h->kind(g->h->ctx, x) != CSB_SBPL_MISSING) return 0;
  char *e = csb_path_parent(x);
  while (e != NULL && strcmp(e, "/") != 0 && g->h->kind(g->h->ctx, e) == CSB_SBPL_MISSING) {
    char *up = csb_path_parent(e);
    free(e);
    e = up;
  }
  if (e == NULL) e = csb_xstrdup("/");
  char *rp = csb_path_parent(root);
  if (rp != NULL && !csb_path_is_under(rp, e)) {
    free(e);
    e = csb_xstrdup(root);
  }
  free(rp);
  const char *rest = csb_path_rest_under(e, x);
  while (rest != NULL && *rest == '/') rest++;
  *name = csb_xstrndup(rest, strcspn(rest, "/"));
  *dir = e;
  return 1;
}

/* 1 when a writable root holds `path` (so the sandboxed command may create
 * it, its parent existing). */
static int in_writable_root(gen *g, const char *path) {
  int in = 0;
  for (size_t k = 0; k < g->v->n_writable && !in; k++) {
    char *r = csb_sbpl_dealias(g->h, g->v->writable[k].root);
    in = csb_path_is_strictly_under(r, path);
    free(r);
  }
  return in;
}

/* cur (freed) joined with the component c[0, n). */
static char *join_component(char *cur, const char *c, size_t n) {
  char *part = csb_xstrndup(c, n);
  char *next = csb_path_join(cur, part);
  free(part);
  free(cur);
  return next;
}

/* A missing directory inside a writable root on the way a symlinked
 * carve-out resolves (`.codex -> a/b` with `a` missing, or
 * `.codex -> missing/../x`), or NULL. The sandboxed command could create it
 * as a symlink and send the carve-out anywhere its rules do not name.
 * `link` is the carve-out's path, `resolved` where it leads. */
static char *creatable_detour(gen *g, const char *link, const char *resolved) {
  const csb_sbpl_host *h = g->h;
  char *m = NULL;
  char *a = csb_path_parent(resolved);
  while (a != NULL && strcmp(a, "/") != 0 && h->kind(h->ctx, a) == CSB_SBPL_MISSING) {
    free(m);
    m = a;
    a = csb_path_parent(a);
  }
  free(a);
  if (m != NULL && in_writable_root(g, m)) return m;
  free(m);
  m = NULL;
  /* A ".." after a missing component of the link's target: the resolved
   * path shows where it leads while that component is missing, not once
   * it is a symlink. */
  char *t = h->readlink(h->ctx, link);
  if (t == NULL) return NULL;
  char *cur = t[0] == '/' ? csb_xstrdup("/") : csb_path_parent(link);
  for (const char *c = t; cur != NULL && *c != '\0';) {
    size_t n = strcspn(c, "/");
    if (n == 2 && c[0] == '.' && c[1] == '.') {
      if (h->kind(h->ctx, cur) == CSB_SBPL_MISSING && in_writable_root(g, cur)) {
        m = cur;
        cur = NULL;
        break;
      }
      /* An existing component's ".." is its real parent. */
      char *real = h->realpath(h->ctx, cur);
      char *up = csb_path_parent(real != NULL ? real : cur);
      free(real);
      free(cur);
      cur = up;
    } else if (n > 0 && !(n == 1 && c[0] == '.')) {
      cur = join_component(cur, c, n);
    }
    c += n;
    while (*c == '/') c++;
  }
  free(cur);
  free(t);
  return m;
}

/* The first symlink inside a writable root that the symlinked carve-out
 * `link` resolves through (`.codex -> data/codex` with `data -> real`,
 * `data` inside a writable root), or NULL. `link` itself is read-only,
 * but the sandboxed command could replace that symlink (only directories
 * above carve-outs are kept in place) and send the carve-out anywhere its
 * rules do not name. Links outside the writable roots are followed, for
 * at most CSB_PATH_MAX_SYMLINKS of them. */
static char *replaceable_link(gen *g, const char *link) {
  const csb_sbpl_host *h = g->h;
  char *t = h->readlink(h->ctx, link);
  if (t == NULL) return NULL;
  char *cur = t[0] == '/' ? csb_xstrdup("/") : csb_path_parent(link);
  char *found = NULL;
  /* The components still to walk: `rest` (a path, owned), from `at` on. */
  char *rest = t;
  const char *at = rest;
  for (int hops = 0; cur != NULL && found == NULL;) {
    while (*at == '/') at++;
    if (*at == '\0') break;
    size_t n = strcspn(at, "/");
    if (n == 2 && at[0] == '.' && at[1] == '.') {
      cur = csb_sbpl_real_parent(h, cur);
      at += n;
      continue;
    }
    if (n == 1 && at[0] == '.') {
      at += n;
      continue;
    }
    char *next = join_component(csb_xstrdup(cur), at, n);
    char *d = csb_sbpl_dealias(h, next);
    free(next);
    next = d;
    at += n;
    char *lt = h->readlink(h->ctx, next);
    if (lt == NULL) {
      free(cur);
      cur = next;
      continue;
    }
    if (in_writable_root(g, next)) {
      found = next;
      free(lt);
      break;
    }
    if (++hops > CSB_PATH_MAX_SYMLINKS) {
      free(next);
      free(lt);
      break;
    }
    /* Follow it: its target, then what was left after it (not joined
     * lexically: a ".." there is resolved as the walk goes). */
    char *more = csb_xasprintf("%s%s", lt, at);
    if (lt[0] == '/') {
      free(cur);
      cur = csb_xstrdup("/");
    }
    free(lt);
    free(next);
    free(rest);
    rest = more;
    at = rest;
  }
  free(cur);
  free(rest);
  return found;
}

static int replaceable_error(gen *g, const char *path, const char *resolved, const char *via) {
  return csb_error_set(g->err,
                       "read-only path `%s` is a symlink leading to `%s` through the symlink "
                       "`%s` inside a writable root: the sandboxed command could replace that "
                       "link and point the path elsewhere, so csb-seatbelt refuses it; replace "
                       "`%s` with a directory, or point the path at its resolved target",
                       path, resolved, via, via);
}

static int detour_error(gen *g, const char *path, const char *resolved, const char *missing) {
  return csb_error_set(g->err,
                       "read-only path `%s` is a symlink leading to `%s` through the missing "
                       "`%s` inside a writable root: the sandboxed command could create that as "
                       "a symlink and point the path elsewhere, so csb-seatbelt refuses it; "
                       "create `%s` as a directory, or remove the symlink",
                       path, resolved, missing, missing);
}

/* Appends the regex `re` (copied) to names, and the root it is for to
 * name_roots, unless names has it already. */
static void add_name(csb_strv *names, csb_strv *name_roots, const char *re, const char *root) {
  if (csb_strv_contains(names, re)) return;
  csb_strv_push(names, re);
  csb_strv_push(name_roots, root);
}

static int write_root(gen *g, size_t i, csb_buf *allow, csb_buf *anchors) {
  const csb_policy_view *v = g->v;
  const csb_writable_root *w = &v->writable[i];
  char *link = NULL;
  csb_error e;
  csb_error_clear(&e);
  if (!g->h->nested_symlink(g->h->ctx, w->root, &link, &e))
    return csb_error_set(g->err, "writable root `%s`: %s; csb-seatbelt cannot tell whether it "
                                 "is safe to confine writes to it (fix the permissions or drop "
                                 "the rule)", w->root, e.msg);
  if (link != NULL) {
    char *real = csb_sbpl_canonical(g->h, w->root);
    char *same = csb_sbpl_dealias(g->h, w->root);
    int loops = strcmp(real, same) == 0; /* the links lead nowhere but round */
    free(same);
    if (loops)
      csb_error_set(g->err,
                    "writable root `%s` contains the symlink `%s`, which does not resolve (a "
                    "symlink loop): Seatbelt checks the resolved path of every access, so "
                    "csb-seatbelt refuses symlinked writable roots; write the path of a real "
                    "directory in the configuration instead",
                    w->root, link);
    else
      csb_error_set(g->err,
                    "writable root `%s` contains the symlink `%s`: Seatbelt checks the resolved "
                    "path of every access, so csb-seatbelt refuses symlinked writable roots; "
                    "write the resolved path `%s` in the configuration instead",
                    w->root, link, real);
    free(real);
    free(link);
    return 0;
  }
  char *root = csb_sbpl_dealias(g->h, w->root);
  csb_sbpl_kind kind = g->h->kind(g->h->ctx, w->root);
  const char *filter = kind == CSB_SBPL_OTHER ? "literal" : "subpath";
  char *key = csb_xasprintf("WRITABLE_ROOT_%zu", i);
  add_param(g, key, root);

  /* Carve-outs: this root's own, plus those of every other writable root
   * that lie below this one (a nested root's .git must not stay writable
   * through the outer root) or that a symlink leads into this one (a
   * write to `/r/.codex/x` through `.codex -> /w/data` lands in root /w,
   * whose own clause would grant it). */
  csb_strv ex, names, name_roots; /* name_roots[j]: the root names[j] is for */
  csb_strv_init(&ex);
  csb_strv_init(&names);
  csb_strv_init(&name_roots);
  int ok = 1;
  for (size_t k = 0; k < v->n_writable; k++) {
    const csb_writable_root *o = &v->writable[k];
    for (size_t j = 0; j < o->read_only_subpaths.len; j++) {
      /* Where Seatbelt sees it: a gitdir: target is spelled as the `.git`
       * file spells it, /tmp/... for /private/tmp/... too. */
      char *lx = csb_sbpl_dealias(g->h, o->read_only_subpaths.items[j]);
      if (k == i || csb_path_is_strictly_under(root, lx)) {
        push_unique(&ex, lx);
        free(lx);
        continue;
      }
      char *cx = csb_sbpl_canonical(g->h, lx);
      if (strcmp(cx, lx) != 0 && csb_path_is_under(root, cx)) push_unique(&ex, cx);
      free(cx);
      free(lx);
    }
    /* A protected name that is a symlink (its target missing, say, so it
     * is no carve-out): the regexes cover the name, not where a write
     * through it lands, and creating the target creates the name. */
    for (size_t j = 0; j < o->protected_names.len; j++) {
      char *oroot = csb_sbpl_dealias(g->h, o->root);
      char *y = csb_path_join(oroot, o->protected_names.items[j]);
      char *t = csb_strv_contains(&o->read_only_subpaths, y) ? NULL : g->h->readlink(g->h->ctx, y);
      if (t != NULL) {
        char *cy = csb_sbpl_canonical(g->h, y);
        char *m = k == i && ok ? creatable_detour(g, y, cy) : NULL;
        if (m != NULL) ok = detour_error(g, y, cy, m);
        char *rl = k == i && ok ? replaceable_link(g, y) : NULL;
        if (rl != NULL) ok = replaceable_error(g, y, cy, rl);
        free(rl);
        if (strcmp(cy, y) != 0 && csb_path_is_under(root, cy)) push_unique(&ex, cy);
        free(m);
        free(cy);
      }
      free(t);
      free(y);
      free(oroot);
    }
    if (k == i || csb_path_is_strictly_under(w->root, o->root)) {
      char *oroot = csb_sbpl_dealias(g->h, o->root);
      /* Every name, also one with a write entry at exactly o/NAME (not a
       * protected name of o): its other spellings are read-only all the
       * same (docs/policy.md, rule 4), and o/NAME itself is granted by
       * that entry's own clause. */
      for (size_t j = 0; j < CSB_PROTECTED_NAMES_COUNT && ok; j++) {
        char *re = name_regex(g, root, oroot, csb_protected_names[j]);
        if (re == NULL) {
          char *so = printable(oroot);
          ok = csb_error_set(g->err,
                             "writable root `%s` is missing and has a non-ASCII (or overlong) "
                             "name, which csb-seatbelt cannot spell in every way a "
                             "case-insensitive volume takes for it (case, Unicode "
                             "normalization), so the sandboxed command could create it under "
                             "another spelling with a `%s` of its own; create it before "
                             "running, or use an ASCII name",
                             so, csb_protected_names[j]);
          free(so);
        } else {
          add_name(&names, &name_roots, re, oroot);
        }
        free(re);
      }
      for (size_t j = 0; j < o->protected_names.len; j++) {
        const char *name = o->protected_names.items[j];
        if (k != i) { /* the root itself is covered by its anchor */
          char *y = csb_path_join(oroot, name);
          add_ancestors(g, root, y);
          free(y);
        }
      }
      free(oroot);
    }
  }
  sort_strv(&ex);

  /* A carve-out reached through a symlink inside the root: the sandboxed
   * command could remove the link (only directories above carve-outs are
   * kept in place) and point the path elsewhere. */
  for (size_t j = 0; j < ex.len && ok; j++) {
    if (!csb_path_is_strictly_under(root, ex.items[j])) continue;
    char *lx = csb_sbpl_dealias(g->h, ex.items[j]);
    char *cx = csb_sbpl_canonical(g->h, lx);
    char *m = strcmp(cx, lx) != 0 ? creatable_detour(g, lx, cx) : NULL;
    if (m != NULL) ok = detour_error(g, ex.items[j], cx, m);
    char *rl = ok && strcmp(cx, lx) != 0 ? replaceable_link(g, lx) : NULL;
    if (rl != NULL) ok = replaceable_error(g, ex.items[j], cx, rl);
    free(rl);
    free(m);
    free(cx);
    free(lx);
    if (!ok) break;
    char *parent = csb_path_parent(ex.items[j]);
    char *via = NULL;
    csb_error le;
    csb_error_clear(&le);
    if (parent != NULL && !g->h->nested_symlink(g->h->ctx, parent, &via, &le)) {
      ok = csb_error_set(g->err, "read-only path `%s`: %s; csb-seatbelt cannot tell whether it is "
                                 "reached through a symlink (fix the permissions or drop the rule)",
                         ex.items[j], le.msg);
    } else if (via != NULL) {
      ok = csb_error_set(g->err,
                         "read-only path `%s` is reached through the symlink `%s` inside writable "
                         "root `%s`: the sandboxed command could replace the link and point the "
                         "path elsewhere, so csb-seatbelt refuses it; name the resolved path in "
                         "the configuration, or replace the symlink with a directory",
                         ex.items[j], via, w->root);
      free(via);
    }
    free(parent);
  }
  /* Missing carve-outs: their first missing component, in every
   * spelling (first_missing). */
  char *croot = csb_sbpl_canonical(g->h, root);
  for (size_t j = 0; j < ex.len && ok; j++) {
    char *lx = csb_sbpl_dealias(g->h, ex.items[j]);
    char *cx = csb_sbpl_canonical(g->h, lx);
    char *dir = NULL, *name = NULL;
    if (first_missing(g, croot, cx, &dir, &name)) {
      char *re = folded_regex(dir, name);
      char *m = csb_path_join(dir, name);
      if (re == NULL) {
        char *sx = printable(ex.items[j]), *sm = printable(m);
        char *what = strcmp(m, cx) == 0 ? csb_xstrdup("is missing and")
                                         : csb_xasprintf("lies below the missing `%s`, which", sm);
        ok = csb_error_set(g->err,
                           "read-only path `%s` %s has a non-ASCII (or overlong) name: "
                           "csb-seatbelt cannot spell it in every way a case-insensitive volume "
                           "takes for it (case, Unicode normalization), so the sandboxed command "
                           "could create it under another spelling; create `%s` before running, "
                           "or use an ASCII name",
                           sx, what, sm);
        free(what);
        free(sx);
        free(sm);
      } else {
        add_name(&names, &name_roots, re, root);
      }
      free(m);
      free(re);
    }
    free(dir);
    free(name);
    free(cx);
    free(lx);
  }
  free(croot);
  /* Every carve-out in every spelling: a rule naming it by its parameter
   * misses it where the policy spells it otherwise than it is stored
   * (any_spelling_regex). A protected name directly below a writable
   * root has its regex already. */
  for (size_t j = 0; j < ex.len && ok; j++) {
    char *lx = csb_sbpl_dealias(g->h, ex.items[j]);
    char *cx = csb_sbpl_canonical(g->h, lx);
    const char *forms[2] = {lx, cx};
    for (int f = 0; f < 2; f++) {
      if (f == 1 && strcmp(cx, lx) == 0) break;
      char *parent = csb_path_parent(forms[f]);
      char *base = csb_path_basename(forms[f]);
      int named = 0;
      for (size_t n = 0; n < CSB_PROTECTED_NAMES_COUNT && parent != NULL; n++)
        named |= strcmp(base, csb_protected_names[n]) == 0;
      for (size_t k = 0; k < v->n_writable && named == 1; k++) {
        char *r = csb_sbpl_dealias(g->h, v->writable[k].root);
        if (strcmp(r, parent) == 0) named = 2;
        free(r);
      }
      /* Only below this root: this clause grants nothing elsewhere. */
      char *re = named == 2 || !csb_path_is_strictly_under(root, forms[f])
                     ? NULL
                     : any_spelling_regex(root, forms[f], 1);
      if (re != NULL) add_name(&names, &name_roots, re, root);
      free(re);
      free(base);
      free(parent);
    }
    free(cx);
    free(lx);
  }
  if (!ok) {
    csb_strv_free(&ex);
    csb_strv_free(&names);
    csb_strv_free(&name_roots);
    free(key);
    free(root);
    return 0;
  }
  if (ex.len == 0 && names.len == 0) {
    csb_buf_printf(allow, "\n  (%s (param \"%s\"))", filter, key);
  } else {
    csb_buf_printf(allow, "\n  (require-all (%s (param \"%s\"))", filter, key);
    for (size_t j = 0; j < ex.len; j++) {
      char *logical = csb_sbpl_dealias(g->h, ex.items[j]);
      /* Where a write to the carve-out lands: through a symlink along it
       * (even one whose target is missing yet), Seatbelt sees the target. */
      char *resolved = csb_sbpl_canonical(g->h, logical);
      char *k2 = csb_xasprintf("%s_EXCLUDED_%zu", key, j);
      add_param(g, k2, logical);
      exclusion(allow, k2);
      add_ancestors(g, root, logical);
      if (resolved != NULL && strcmp(resolved, logical) != 0) {
        char *k3 = csb_xasprintf("%s_RESOLVED", k2);
        add_param(g, k3, resolved);
        exclusion(allow, k3);
        add_ancestors(g, root, resolved);
        free(k3);
      }
      free(k2);
      free(resolved);
      free(logical);
    }
    for (size_t j = 0; j < names.len && ok; j++) {
      csb_buf_puts(allow, "\n    (require-not ");
      ok = regex_filter(g, names.items[j], "writable root", name_roots.items[j], allow);
      csb_buf_putc(allow, ')');
    }
    csb_buf_putc(allow, ')');
  }
  /* The root itself cannot be deleted or renamed (and replaced by a
   * symlink) while it is a directory. */
  csb_buf_printf(anchors,
                 "(deny file-write-unlink (require-all (literal (param \"%s\")) (vnode-type "
                 "DIRECTORY)))\n",
                 key);
  csb_strv_free(&ex);
  csb_strv_free(&names);
  csb_strv_free(&name_roots);
  free(key);
  free(root);
  return ok;
}

static int write_section(gen *g, csb_buf *out) {
  const csb_policy_view *v = g->v;
  if (v->full_write) {
    csb_buf_puts(out, ";; file writes: every path\n(allow file-write* (regex #\"^/\"))\n");
    return 1;
  }
  if (v->n_writable == 0) return 1;
  csb_buf allow, anchors;
  csb_buf_init(&allow);
  csb_buf_init(&anchors);
  int ok = 1;
  for (size_t i = 0; i < v->n_writable && ok; i++) ok = write_root(g, i, &allow, &anchors);
  if (ok) {
    csb_buf_puts(out, ";; file writes: writable roots minus their read-only carve-outs\n");
    csb_buf_printf(out, "(allow file-write*%s)\n", allow.data);
    csb_buf_puts(out, anchors.data);
    sort_strv(&g->ancestors);
    for (size_t k = 0; k < g->ancestors.len; k++) {
      char *key = csb_xasprintf("PROTECTED_ANCESTOR_%zu", k);
      add_param(g, key, g->ancestors.items[k]);
      free(key);
    }
  }
  csb_buf_free(&allow);
  csb_buf_free(&anchors);
  return ok;
}

static void ancestors_section(gen *g, csb_buf *out) {
  if (g->ancestors.len == 0) return;
  csb_buf_puts(out, ";; protected ancestors: directories above read-only carve-outs stay in place\n");
  for (size_t k = 0; k < g->ancestors.len; k++) {
    csb_buf_printf(out,
                   "(deny file-write-unlink (require-all (vnode-type DIRECTORY) (literal (param "
                   "\"PROTECTED_ANCESTOR_%zu\"))))\n",
                   k);
    /* The same in every spelling below the outermost writable root
     * holding it (any_spelling_regex): each root's clause grants the
     * unlink only where the path is spelled as that root is. */
    const char *a = g->ancestors.items[k];
    char *outer = NULL;
    for (size_t i = 0; i < g->v->n_writable; i++) {
      char *r = csb_sbpl_dealias(g->h, g->v->writable[i].root);
      if (csb_path_is_under(r, a) && (outer == NULL || csb_path_is_strictly_under(r, outer))) {
        free(outer);
        outer = r;
      } else {
        free(r);
      }
    }
    char *re = any_spelling_regex(outer != NULL ? outer : "/", a, 0);
    free(outer);
    if (re != NULL) {
      csb_buf_puts(out, "(deny file-write-unlink (require-all (vnode-type DIRECTORY) ");
      regex_filter(g, re, "protected ancestor", a, out);
      csb_buf_puts(out, "))\n");
    }
    free(re);
  }
}

/* ---- deny-read globs in every spelling ------------------------------------------------ */

/* The characters outside ASCII that stand for one ASCII character on a
 * case-insensitive volume (k_folds_to_ascii), which a class of bytes
 * cannot hold. */
static const struct {
  char ascii;
  const char *utf8;
} k_single_folds[] = {
    {'s', "\xc5\xbf"}, {'k', "\xe2\x84\xaa"}, {';', "\xcd\xbe"}, {'`', "\xe1\xbf\xaf"},
};

/* Reads the bracket expression at re[*i] ('[') into `set` and folds it: a
 * letter brings its other case. 0 when it holds some bytes outside ASCII
 * but not all of them (a character outside ASCII, whose other spellings
 * cannot be enumerated). */
static int fold_bracket(const char *re, size_t *i, unsigned char *set) {
  const unsigned char *s = (const unsigned char *)re;
  size_t k = *i + 1;
  int negated = s[k] == '^';
  if (negated) k++;
  memset(set, 0, 256);
  for (int first = 1; s[k] != '\0' && (first || s[k] != ']'); first = 0) {
    unsigned lo = s[k++], hi = lo;
    if (s[k] == '-' && s[k + 1] != ']' && s[k + 1] != '\0') {
      hi = s[k + 1];
      k += 2;
    }
    for (unsigned c = lo; c <= hi; c++) set[c] = 1;
  }
  *i = s[k] == ']' ? k + 1 : k;
  if (negated)
    for (unsigned c = 1; c < 256; c++) set[c] = !set[c];
  set[0] = 0;
  for (unsigned c = 'a'; c <= 'z'; c++)
    if (set[c] || set[c - 'a' + 'A']) set[c] = set[c - 'a' + 'A'] = 1;
  unsigned high = 0;
  for (unsigned c = 0x80; c < 256; c++) high += set[c];
  return high == 0 || high == 0x80;
}

/* The ERE csb_glob_to_regex made of a deny glob, matching every spelling
 * a case-insensitive volume takes for a path it matches (so that a file
 * stored as `X.ENV` is denied by a glob ending in `*.env`): each run of literal
 * characters folded name by name as fold_name_ere folds a name, each
 * class gains the other case of its letters and the characters outside
 * ASCII that stand for one of its members (U+017F for s, ...), `*`, `**`
 * and the anchors unchanged. NULL with an error when a literal character
 * or class member outside ASCII does not fold to ASCII (its spellings
 * cannot be enumerated) or a name's regex grows too long. */
static char *fold_glob_regex(gen *g, const char *pat, const char *re) {
  csb_buf b, run;
  csb_buf_init(&b);
  csb_buf_init(&run);
  csb_buf_puts(&b, "");
  csb_buf_puts(&run, "");
  char *bad = NULL;
  for (size_t i = 0;; i++) {
    char c = re[i];
    if (c == '\\' && re[i + 1] != '\0') {
      csb_buf_putc(&run, re[++i]);
      continue;
    }
    if (c != '\0' && !strchr("[^$.*?()|", c)) {
      csb_buf_putc(&run, c);
      continue;
    }
    /* The run of literal characters so far, name by name (a name never
     * holds a '/'). */
    for (const char *p = run.data; run.len > 0 && bad == NULL;) {
      size_t n = strcspn(p, "/");
      char *part = csb_xstrndup(p, n);
      char *en = fold_name_ere(part);
      if (en == NULL) {
        int high = 0;
        for (const unsigned char *q = (const unsigned char *)part; *q; q++) high |= *q >= 0x80;
        char *sp = printable(part);
        bad = csb_xasprintf(high ? "its name `%s` holds a non-ASCII character that does not fold "
                                   "to ASCII"
                                 : "its name `%s` would need a regex longer than %d bytes",
                            sp, FOLDED_NAME_MAX);
        free(sp);
      } else {
        csb_buf_puts(&b, en);
      }
      free(en);
      free(part);
      p += n;
      if (*p == '\0') break;
      csb_buf_putc(&b, '/');
      p++;
    }
    csb_buf_reset(&run);
    csb_buf_puts(&run, "");
    if (c == '\0' || bad != NULL) break;
    if (c != '[') {
      csb_buf_putc(&b, c);
      continue;
    }
    unsigned char set[256];
    if (!fold_bracket(re, &i, set)) {
      bad = csb_xstrdup("a class of it holds a non-ASCII character");
      break;
    }
    /* `[^/]*` matches the characters outside ASCII byte by byte already. */
    int star = re[i] == '*';
    csb_buf alts;
    csb_buf_init(&alts);
    csb_buf_puts(&alts, "");
    for (size_t k = 0; k < CSB_ARRAY_LEN(k_single_folds) && !(star && set[0x80]); k++)
      if (set[(unsigned char)k_single_folds[k].ascii])
        csb_buf_printf(&alts, "|%s", k_single_folds[k].utf8);
    if (alts.len > 0) csb_buf_putc(&b, '(');
    csb_ere_class(&b, set); /* (written as glob.c writes classes) */
    if (alts.len > 0) csb_buf_printf(&b, "%s)", alts.data);
    csb_buf_free(&alts);
    i--; /* the loop's i++ moves to what follows the class */
  }
  csb_buf_free(&run);
  if (bad != NULL) {
    char *sp = printable(pat);
    csb_error_set(g->err,
                  "deny-read glob `%s`: %s, so csb-seatbelt cannot match it in every "
                  "spelling a case-insensitive volume takes for a name (case, Unicode "
                  "normalization), and a file stored under another spelling would stay "
                  "readable; write the glob with (shorter) ASCII names",
                  sp, bad);
    free(sp);
    free(bad);
    csb_buf_free(&b);
    return NULL;
  }
  return csb_buf_steal(&b);
}

/* ---- deny-read globs ------------------------------------------------------------------ */

/* The top-level names macOS makes symlinks (to /private/...). */
static const char *const k_top_aliases[] = {"/etc", "/tmp", "/var"};

/* For each top-level alias A -> P + A at or below which the glob `pat`
 * (compiled as gl[0]) may match, the glob P + pat in gl[*n]. It also
 * matches P + s for the few other s the glob matches (paths below /private
 * that are no alias), which denies more, never less. 0 with an error when
 * the alias target does not end with the alias or the pattern grows too
 * long. */
static int alias_variants(gen *g, const char *pat, csb_glob **gl, size_t *n) {
  for (size_t i = 0; i < CSB_ARRAY_LEN(k_top_aliases); i++) {
    const char *a = k_top_aliases[i];
    if (!csb_glob_match(gl[0], a) && !csb_glob_may_match_below(gl[0], a)) continue;
    char *t = g->h->alias(g->h->ctx, a);
    if (t == NULL) continue;
    size_t tl = strlen(t), al = strlen(a);
    if (tl <= al || strcmp(t + tl - al, a) != 0 || t[tl - al - 1] == '/') {
      csb_error_set(g->err,
                    "deny-read glob `%s` may match below %s, which Seatbelt sees as %s: "
                    "csb-seatbelt cannot rewrite the glob for that path; write the glob below "
                    "%s instead",
                    pat, a, t, t);
      free(t);
      return 0;
    }
    csb_buf b;
    csb_buf_init(&b);
    char *lit = csb_xstrndup(t, tl - al), *esc = csb_glob_escape(lit, 0);
    csb_buf_puts(&b, esc);
    free(esc);
    free(lit);
    csb_buf_puts(&b, pat);
    csb_error e;
    csb_error_clear(&e);
    int ok = csb_glob_compile(b.data, &gl[*n], &e);
    if (ok)
      (*n)++;
    else
      csb_error_set(g->err,
                    "deny-read glob `%s`: cannot rewrite it for %s, which Seatbelt sees as %s "
                    "(%s); write the glob below %s instead, shorter",
                    pat, a, t, e.msg, t);
    csb_buf_free(&b);
    free(t);
    if (!ok) return 0;
  }
  return 1;
}

static int glob_section(gen *g, csb_buf *out) {
  const csb_policy_view *v = g->v;
  if (v->unreadable_globs.len == 0) return 1;
  csb_strv res, ancs;
  csb_strv_init(&res);
  csb_strv_init(&ancs);
  int ok = 1;
  for (size_t i = 0; i < v->unreadable_globs.len && ok; i++) {
    const char *pat = v->unreadable_globs.items[i];
    csb_glob *gl[2 + CSB_ARRAY_LEN(k_top_aliases)] = {NULL};
    size_t ngl = 1;
    csb_error e;
    csb_error_clear(&e);
    if (!csb_glob_compile(pat, &gl[0], &e)) {
      ok = csb_error_set(g->err, "invalid deny-read glob pattern `%s`: %s", pat, e.msg);
      break;
    }
    /* Also deny below the canonical form of a symlinked static prefix:
     * Seatbelt sees resolved paths. Without that form the glob would deny
     * nothing there, so failing to build it fails the profile. */
    const char *prefix = csb_glob_static_prefix(gl[0]);
    if (prefix[0] == '/' && prefix[1] != '\0') {
      char *canon = csb_sbpl_canonical(g->h, prefix);
      if (strcmp(canon, prefix) != 0) {
        char *rebased = NULL;
        if (!csb_glob_rebase(gl[0], canon, &rebased, &e) || !csb_glob_compile(rebased, &gl[ngl], &e))
          ok = csb_error_set(g->err,
                             "deny-read glob `%s`: cannot rewrite it below `%s`, where "
                             "Seatbelt sees its prefix (%s), so csb-seatbelt would deny "
                             "nothing there; write the glob below that path, shorter",
                             pat, canon, e.msg);
        else
          ngl++;
        free(rebased);
      }
      free(canon);
    }
    /* A glob that may match at or below a top-level alias without naming
     * it in its prefix ("/t?p/x", "/{tmp,var}/x"): Seatbelt sees /tmp/x as
     * /private/tmp/x, which the glob's regex does not match. */
    if (ok && pat[0] == '/') ok = alias_variants(g, pat, gl, &ngl);
    /* Each in every spelling (fold_glob_regex): Seatbelt checks the
     * name a file is stored under. */
    for (size_t k = 0; k < ngl && ok; k++) {
      char *re = csb_glob_to_regex(gl[k]);
      char *fr = fold_glob_regex(g, pat, re);
      if (fr != NULL) push_unique(&res, fr);
      ok = fr != NULL;
      free(fr);
      free(re);
      const char *const *a = NULL;
      size_t n = csb_glob_ancestor_regexes(gl[k], &a);
      for (size_t j = 0; j < n && ok; j++) {
        if (strcmp(a[j], "^/$") == 0) continue;
        fr = fold_glob_regex(g, pat, a[j]);
        if (fr != NULL) push_unique(&ancs, fr);
        ok = fr != NULL;
        free(fr);
      }
    }
    for (size_t k = 0; k < ngl; k++) csb_glob_free(gl[k]);
  }
  /* Seatbelt checks the path a symlink leads to, which the regexes do not
   * name: a match that is a symlink gets what it points at denied (as
   * csb-bwrap hides and csb-winacl covers the canonical target). */
  csb_strv links;
  csb_strv_init(&links);
  for (size_t i = 0; i < v->unreadable_globs.len && ok; i++) {
    csb_error e;
    csb_error_clear(&e);
    if (!g->h->glob_link_targets(g->h->ctx, v->unreadable_globs.items[i], v->glob_scan_max_depth, &links, &e))
      ok = csb_error_set(g->err, "cannot expand deny-read glob `%s` to find the symlinks it matches: %s",
                         v->unreadable_globs.items[i], e.msg);
  }
  csb_strv_sort_unique(&links);
  /* The writable roots where Seatbelt sees them, resolved once for all links. */
  csb_strv cws;
  csb_strv_init(&cws);
  for (size_t k = 0; k < v->n_writable && links.len > 0; k++)
    csb_strv_push_owned(&cws, csb_sbpl_canonical(g->h, v->writable[k].root));
  for (size_t i = 0; i < links.len && ok; i++) {
    const char *t = links.items[i];
    if (strcmp(t, "/") == 0) {
      ok = csb_error_set(g->err, "cannot enforce a deny-read glob: a match is a symlink to /; deny the files "
                                 "below it by name instead");
      break;
    }
    for (size_t k = 0; k < cws.len && ok; k++) {
      if (csb_path_is_under(t, cws.items[k]))
        ok = csb_error_set(g->err,
                           "cannot enforce a deny-read glob: a match is a symlink to %s, and denying "
                           "that would deny writable root %s too; deny the files below it by name instead",
                           t, v->writable[k].root);
    }
  }
  csb_strv_free(&cws);
  if (ok) {
    csb_buf_puts(out, ";; deny-read globs: neither readable nor writable, ancestors stay in place\n");
    for (size_t i = 0; i < res.len && ok; i++) {
      for (int k = 0; k < 3 && ok; k++) {
        static const char *const ops[] = {"(deny file-read* ", "(deny file-write* ",
                                          "(deny process-exec "};
        csb_buf_puts(out, ops[k]);
        ok = regex_filter(g, res.items[i], "deny-read glob regex", res.items[i], out);
        csb_buf_puts(out, ")\n");
      }
    }
    for (size_t i = 0; i < ancs.len && ok; i++) {
      csb_buf_puts(out, "(deny file-write-unlink (require-all (vnode-type DIRECTORY) ");
      ok = regex_filter(g, ancs.items[i], "deny-read glob ancestor regex", ancs.items[i], out);
      csb_buf_puts(out, "))\n");
    }
    for (size_t i = 0; i < links.len; i++) {
      char *key = csb_xasprintf("DENY_GLOB_LINK_TARGET_%zu", i);
      add_param(g, key, links.items[i]);
      csb_buf_printf(out, "(deny file-read* file-write* process-exec (subpath (param \"%s\")))\n", key);
      free(key);
    }
  }
  csb_strv_free(&links);
  csb_strv_free(&res);
  csb_strv_free(&ancs);
  return ok;
}

/* ---- network -------------------------------------------------------------------------- */

typedef struct unix_rule {
  char *path;
  int allow;
  size_t index; /* parameter number within its kind */
} unix_rule;

static int cmp_unix_depth(const void *a, const void *b) {
  const unix_rule *x = a, *y = b;
  size_t dx = csb_path_depth(x->path), dy = csb_path_depth(y->path);
  if (dx != dy) return dx < dy ? -1 : 1;
  if (x->allow != y->allow) return x->allow ? -1 : 1; /* deny after allow */
  return strcmp(x->path, y->path);
}

static void unix_lines(csb_buf *b, const unix_rule *r) {
  const char *verb = r->allow ? "allow" : "deny";
  const char *key = r->allow ? "UNIX_SOCKET_PATH" : "UNIX_SOCKET_DENY_PATH";
  csb_buf_printf(b, "(%s network-bind (local unix-socket (subpath (param \"%s_%zu\"))))\n", verb,
                 key, r->index);
  csb_buf_printf(b, "(%s network-outbound (remote unix-socket (subpath (param \"%s_%zu\"))))\n",
                 verb, key, r->index);
}

/* The absolute `path` (an --allow-unix-socket argument, not normalised) as
 * the kernel resolves it, canonical: a ".." leads to the parent of where
 * the components before it lead, so `/a/link/../s` with `link -> /b/c` is
 * `/b/s`, not `/a/s`. */
static char *socket_path(const csb_sbpl_host *h, const char *path) {
  char *cur = csb_xstrdup("/");
  for (const char *c = path; *c;) {
    size_t n = strcspn(c, "/");
    if (n == 2 && c[0] == '.' && c[1] == '.') {
      char *real = csb_sbpl_canonical(h, cur);
      char *up = csb_path_parent(real);
      free(real);
      free(cur);
      cur = up != NULL ? up : csb_xstrdup("/");
    } else if (n > 0 && !(n == 1 && c[0] == '.')) {
      cur = join_component(cur, c, n);
    }
    c += n;
    while (*c == '/') c++;
  }
  char *out = csb_sbpl_canonical(h, cur);
  free(cur);
  return out;
}

/* The Unix socket rules; *granted tells whether any socket is allowed. */
static void unix_block(gen *g, int blanket_outbound, csb_buf *b, int *granted) {
  const csb_policy *p = g->p;
  csb_strv allows, denies;
  csb_strv_init(&allows);
  csb_strv_init(&denies);
  for (size_t i = 0; i < p->n_unix_sockets; i++) {
    char *c = csb_sbpl_canonical(g->h, p->unix_sockets[i].path);
    push_unique(p->unix_sockets[i].allow ? &allows : &denies, c);
    free(c);
  }
  for (size_t i = 0; g->o && i < g->o->n_unix_sockets; i++) {
    char *c = socket_path(g->h, g->o->unix_sockets[i]);
    push_unique(&allows, c);
    free(c);
  }
  sort_strv(&allows);
  sort_strv(&denies);
  /* A deny matters only where something would allow it. */
  int open_all = p->allow_all_unix_sockets || blanket_outbound;
  csb_strv eff;
  csb_strv_init(&eff);
  for (size_t i = 0; i < denies.len; i++) {
    int needed = open_all;
    for (size_t k = 0; k < allows.len && !needed; k++)
      needed = csb_path_is_under(allows.items[k], denies.items[i]);
    if (needed) csb_strv_push(&eff, denies.items[i]);
  }
  *granted = p->allow_all_unix_sockets || allows.len > 0;
  if (*granted || eff.len > 0) {
    csb_buf_puts(b, "; unix domain sockets\n");
    if (*granted) csb_buf_puts(b, "(allow system-socket (socket-domain AF_UNIX))\n");
    if (p->allow_all_unix_sockets) {
      csb_buf_puts(b, "(allow network-bind (local unix-socket))\n");
      csb_buf_puts(b, "(allow network-outbound (remote unix-socket))\n");
    }
    size_t n = allows.len + eff.len;
    unix_rule *rules = csb_xcalloc(n ? n : 1, sizeof *rules);
    for (size_t i = 0; i < allows.len; i++) rules[i] = (unix_rule){allows.items[i], 1, i};
    for (size_t i = 0; i < eff.len; i++) rules[allows.len + i] = (unix_rule){eff.items[i], 0, i};
    /* Deepest rule last (the last match wins); without denies the
     * allows keep their lexicographic order. */
    if (eff.len > 0) qsort(rules, n, sizeof *rules, cmp_unix_depth);
    for (size_t i = 0; i < n; i++) unix_lines(b, &rules[i]);
    free(rules);
    for (size_t i = 0; i < allows.len; i++) {
      char *key = csb_xasprintf("UNIX_SOCKET_PATH_%zu", i);
      add_param(g, key, allows.items[i]);
      free(key);
    }
    for (size_t i = 0; i < eff.len; i++) {
      char *key = csb_xasprintf("UNIX_SOCKET_DENY_PATH_%zu", i);
      add_param(g, key, eff.items[i]);
      free(key);
    }
  }
  csb_strv_free(&allows);
  csb_strv_free(&denies);
  csb_strv_free(&eff);
}

static void network_section(gen *g, csb_buf *out) {
  const csb_policy *p = g->p;
  csb_buf b;
  csb_buf_init(&b);
  int granted = 0;
  if (p->net_mode == CSB_NET_ENABLED) {
    csb_buf_puts(&b, ";; network: full\n(allow network-outbound)\n(allow network-inbound)\n");
    int unix_granted = 0;
    unix_block(g, 1, &b, &unix_granted);
    granted = 1;
  } else {
    csb_sbpl_ports ports;
    memset(&ports, 0, sizeof ports);
    int proxy = p->net_mode == CSB_NET_PROXY;
    if (proxy) {
      csb_sbpl_proxy_ports(g->o ? g->o->envp : NULL, &ports, &g->warnings);
      if (!ports.any_set)
        csb_strv_push(&g->warnings,
                      "network mode `proxy`: no proxy variable (HTTP_PROXY, HTTPS_PROXY, "
                      "ALL_PROXY, ...) is set, so the profile opens no network port; run the "
                      "command under csb-proxy");
      else if (ports.n == 0)
        csb_strv_push(&g->warnings,
                      "network mode `proxy`: no proxy variable names a loopback proxy, so the "
                      "profile opens no network port (fail closed)");
    }
    csb_buf_puts(&b, proxy ? ";; network: only the loopback proxy\n"
                           : ";; network: no IP networking\n");
    size_t title = b.len;
    if (p->allow_local_binding) {
      csb_buf_puts(&b, "; local binding and loopback traffic\n");
      csb_buf_puts(&b, "(allow network-bind (local ip \"*:*\"))\n");
      csb_buf_puts(&b, "(allow network-inbound (local ip \"localhost:*\"))\n");
      csb_buf_puts(&b, "(allow network-outbound (remote ip \"localhost:*\"))\n");
      if (ports.n > 0) {
        csb_buf_puts(&b, "; name resolution while traffic goes through the proxy\n");
        csb_buf_puts(&b, "(allow network-outbound (remote ip \"*:53\"))\n");
      }
    }
    if (ports.n > 0) csb_buf_puts(&b, "; proxy ports from the environment\n");
    for (size_t i = 0; i < ports.n; i++)
      csb_buf_printf(&b, "(allow network-outbound (remote ip \"localhost:%d\"))\n", ports.ports[i]);
    int unix_granted = 0;
    unix_block(g, 0, &b, &unix_granted);
    granted = proxy || p->allow_local_binding || unix_granted;
    if (!granted && b.len == title) b.len = 0; /* nothing at all: no section */
    if (b.data) b.data[b.len] = '\0';
  }
  if (b.len > 0) csb_buf_puts(out, b.data);
  if (granted) {
    if (out->len > 0) csb_buf_putc(out, '\n');
    csb_buf_puts(out, csb_sbpl_network_services_section);
  }
  csb_buf_free(&b);
}

/* ---- assembly --------------------------------------------------------------------------- */

static void append_section(csb_buf *text, csb_buf *sec) {
  if (sec->len == 0) return;
  csb_buf_putc(text, '\n');
  csb_buf_append(text, sec->data, sec->len);
  csb_buf_reset(sec);
}

int csb_sbpl_generate(const csb_policy *p, const csb_policy_view *v, const csb_sbpl_host *h,
                      const csb_sbpl_opts *o, csb_sbpl_profile **out, csb_error *err) {
  *out = NULL;
  if (p->platform != CSB_PLATFORM_MACOS)
    return csb_error_set(err,
                         "the policy was resolved for platform `%s`; csb-seatbelt enforces macOS "
                         "policies only (resolve it on the Mac with csb-resolve)",
                         csb_platform_name(p->platform));
  if (p->enforcement == CSB_ENFORCE_DISABLED)
    return csb_error_set(err, "enforcement is `disabled` (no sandbox): there is no Seatbelt "
                              "profile to build");
  gen g;
  memset(&g, 0, sizeof g);
  g.p = p;
  g.v = v;
  g.h = h;
  g.o = o;
  g.err = err;
  csb_strv_init(&g.params);
  csb_strv_init(&g.warnings);
  csb_strv_init(&g.ancestors);

  csb_buf text, sec;
  csb_buf_init(&text);
  csb_buf_init(&sec);
  csb_buf_puts(&text, "(version 1)\n(deny default)\n");
  csb_buf_puts(&sec, csb_sbpl_base_section);
  append_section(&text, &sec);
  int ok = read_section(&g, &sec);
  append_section(&text, &sec);
  append_section(&text, &g.exec_denies);
  if (v->include_platform_defaults) syslog_deny(&g);
  if (ok) ok = write_section(&g, &sec);
  append_section(&text, &sec);
  if (ok) {
    network_section(&g, &sec);
    append_section(&text, &sec);
    if (v->full_read) csb_buf_puts(&sec, csb_sbpl_preferences_section);
    append_section(&text, &sec);
    if (v->include_platform_defaults) {
      csb_buf_puts(&sec, csb_sbpl_platform_section);
      if (g.platform_denies.len > 0) csb_buf_append(&sec, g.platform_denies.data, g.platform_denies.len);
    }
    append_section(&text, &sec);
    ok = glob_section(&g, &sec);
    append_section(&text, &sec);
  }
  if (ok) {
    ancestors_section(&g, &sec);
    append_section(&text, &sec);
  }
  csb_buf_free(&sec);
  csb_buf_free(&g.platform_denies);
  csb_buf_free(&g.exec_denies);
  csb_strv_free(&g.ancestors);
  if (!ok) {
    csb_buf_free(&text);
    csb_strv_free(&g.params);
    csb_strv_free(&g.warnings);
    return 0;
  }
  csb_sbpl_profile *prof = csb_xcalloc(1, sizeof *prof);
  prof->text = csb_buf_steal(&text);
  prof->params = g.params;
  prof->warnings = g.warnings;
  *out = prof;
  return 1;
}

void csb_sbpl_profile_free(csb_sbpl_profile *prof) {
  if (prof == NULL) return;
  free(prof->text);
  csb_strv_free(&prof->params);
  csb_strv_free(&prof->warnings);
  free(prof);
}

void csb_sbpl_argv(const csb_sbpl_profile *prof, char *const *cmd, csb_strv *out) {
  csb_strv_push(out, CSB_SBPL_SANDBOX_EXEC);
  csb_strv_push(out, "-p");
  csb_strv_push(out, prof->text);
  for (size_t i = 0; i < prof->params.len; i++) csb_strv_pushf(out, "-D%s", prof->params.items[i]);
  csb_strv_push(out, "--");
  for (size_t i = 0; cmd != NULL && cmd[i] != NULL; i++) csb_strv_push(out, cmd[i]);
}

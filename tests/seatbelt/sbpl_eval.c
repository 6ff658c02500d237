/* sbpl_eval.c - see sbpl_eval.h. */
#define _GNU_SOURCE
#include "sbpl_eval.h"

#include <ctype.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { SX_LIST, SX_SYM, SX_NUM, SX_STR, SX_RAW } sx_kind;

struct sx {
  sx_kind kind;
  char *text; /* atoms */
  sx **items; /* lists */
  size_t n, cap;
  int line;
  regex_t *re; /* compiled when this atom is a regex argument */
  int re_bad;
};

struct sbpl_program {
  sx **forms;
  char **sections;
  size_t n, cap;
  size_t nregex;
};

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) abort();
  return q;
}

static char *xstrndup(const char *s, size_t n) {
  char *d = xrealloc(NULL, n + 1);
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

static void set_err(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (err && len) vsnprintf(err, len, fmt, ap);
  va_end(ap);
}

static sx *sx_new(sx_kind k, int line) {
  sx *x = calloc(1, sizeof *x);
  if (!x) abort();
  x->kind = k;
  x->line = line;
  return x;
}

static void sx_free(sx *x) {
  if (!x) return;
  for (size_t i = 0; i < x->n; i++) sx_free(x->items[i]);
  free(x->items);
  free(x->text);
  if (x->re) {
    regfree(x->re);
    free(x->re);
  }
  free(x);
}

static void sx_push(sx *l, sx *c) {
  if (l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 4;
    l->items = xrealloc(l->items, l->cap * sizeof *l->items);
  }
  l->items[l->n++] = c;
}

/* ---- reader ------------------------------------------------------------------ */

typedef struct reader {
  const char *s;
  size_t i, n;
  int line;
  char *err;
  size_t errlen;
  char *section;
} reader;

static void skip_space(reader *r) {
  while (r->i < r->n) {
    char c = r->s[r->i];
    if (c == '\n') {
      r->line++;
      r->i++;
    } else if (isspace((unsigned char)c)) {
      r->i++;
    } else if (c == ';') {
      size_t start = r->i;
      while (r->i < r->n && r->s[r->i] != '\n') r->i++;
      if (r->i - start > 3 && strncmp(r->s + start, ";; ", 3) == 0) {
        free(r->section);
        r->section = xstrndup(r->s + start + 3, r->i - start - 3);
      }
    } else {
      break;
    }
  }
}

static sx *read_form(reader *r, int depth);

static sx *read_string(reader *r, int raw) {
  sx *x = sx_new(raw ? SX_RAW : SX_STR, r->line);
  size_t cap = 16, len = 0;
  char *buf = xrealloc(NULL, cap);
  r->i += raw ? 2 : 1;
  for (;;) {
    if (r->i >= r->n) {
      set_err(r->err, r->errlen, "line %d: unterminated string", x->line);
      free(buf);
      sx_free(x);
      return NULL;
    }
    char c = r->s[r->i++];
    if (c == '"') break;
    if (c == '\n') r->line++;
    if (!raw && c == '\\') {
      if (r->i >= r->n || (r->s[r->i] != '\\' && r->s[r->i] != '"')) {
        set_err(r->err, r->errlen, "line %d: unknown escape in string", r->line);
        free(buf);
        sx_free(x);
        return NULL;
      }
      c = r->s[r->i++];
    }
    if (len + 2 > cap) buf = xrealloc(buf, cap *= 2);
    buf[len++] = c;
  }
  buf[len] = '\0';
  x->text = buf;
  return x;
}

static sx *read_form(reader *r, int depth) {
  skip_space(r);
  if (r->i >= r->n) {
    set_err(r->err, r->errlen, "unexpected end of profile");
    return NULL;
  }
  char c = r->s[r->i];
  if (c == '(') {
    if (depth > 64) {
      set_err(r->err, r->errlen, "line %d: nesting too deep", r->line);
      return NULL;
    }
    sx *l = sx_new(SX_LIST, r->line);
    r->i++;
    for (;;) {
      skip_space(r);
      if (r->i >= r->n) {
        set_err(r->err, r->errlen, "line %d: unbalanced '(' (list never closed)", l->line);
        sx_free(l);
        return NULL;
      }
      if (r->s[r->i] == ')') {
        r->i++;
        return l;
      }
      sx *c2 = read_form(r, depth + 1);
      if (!c2) {
        sx_free(l);
        return NULL;
      }
      sx_push(l, c2);
    }
  }
  if (c == ')') {
    set_err(r->err, r->errlen, "line %d: unbalanced ')'", r->line);
    return NULL;
  }
  if (c == '"') return read_string(r, 0);
  if (c == '#' && r->i + 1 < r->n && r->s[r->i + 1] == '"') return read_string(r, 1);
  size_t start = r->i;
  while (r->i < r->n && !isspace((unsigned char)r->s[r->i]) && !strchr("()\";", r->s[r->i])) r->i++;
  sx *a = sx_new(SX_SYM, r->line);
  a->text = xstrndup(r->s + start, r->i - start);
  int digits = 1;
  for (const char *p = a->text; *p; p++) digits &= isdigit((unsigned char)*p) != 0;
  if (digits) a->kind = SX_NUM;
  return a;
}

static int head_is(const sx *x, const char *name) {
  return x->kind == SX_LIST && x->n > 0 && x->items[0]->kind == SX_SYM &&
         strcmp(x->items[0]->text, name) == 0;
}

static void compile_regexes(sbpl_program *p, sx *x) {
  if (x->kind != SX_LIST) return;
  if ((head_is(x, "regex") || head_is(x, "ipc-posix-name-regex")) && x->n == 2 &&
      (x->items[1]->kind == SX_RAW || x->items[1]->kind == SX_STR)) {
    sx *a = x->items[1];
    a->re = calloc(1, sizeof *a->re);
    if (!a->re) abort();
    if (regcomp(a->re, a->text, REG_EXTENDED | REG_NOSUB) != 0) {
      free(a->re);
      a->re = NULL;
      a->re_bad = 1;
    }
    p->nregex++;
  }
  for (size_t i = 0; i < x->n; i++) compile_regexes(p, x->items[i]);
}

sbpl_program *sbpl_parse(const char *text, char *err, size_t errlen) {
  reader r = {text, 0, strlen(text), 1, err, errlen, NULL};
  sbpl_program *p = calloc(1, sizeof *p);
  if (!p) abort();
  for (;;) {
    skip_space(&r);
    if (r.i >= r.n) break;
    if (r.s[r.i] != '(') {
      set_err(err, errlen, r.s[r.i] == ')' ? "line %d: unbalanced ')'" : "line %d: top-level atom",
              r.line);
      free(r.section);
      sbpl_free(p);
      return NULL;
    }
    sx *f = read_form(&r, 0);
    if (!f) {
      free(r.section);
      sbpl_free(p);
      return NULL;
    }
    if (p->n == p->cap) {
      p->cap = p->cap ? 2 * p->cap : 16;
      p->forms = xrealloc(p->forms, p->cap * sizeof *p->forms);
      p->sections = xrealloc(p->sections, p->cap * sizeof *p->sections);
    }
    p->forms[p->n] = f;
    p->sections[p->n] = xstrndup(r.section ? r.section : "", r.section ? strlen(r.section) : 0);
    p->n++;
    compile_regexes(p, f);
  }
  free(r.section);
  return p;
}

void sbpl_free(sbpl_program *p) {
  if (!p) return;
  for (size_t i = 0; i < p->n; i++) {
    sx_free(p->forms[i]);
    free(p->sections[i]);
  }
  free(p->forms);
  free(p->sections);
  free(p);
}

size_t sbpl_regex_count(const sbpl_program *p) { return p->nregex; }
size_t sbpl_rule_count(const sbpl_program *p) { return p->n; }

/* ---- checker --------------------------------------------------------------------- */

static const char *const kOperations[] = {
    "default",
    "file-ioctl",
    "file-map-executable",
    "file-read*",
    "file-read-data",
    "file-read-metadata",
    "file-test-existence",
    "file-write*",
    "file-write-data",
    "file-write-unlink",
    "iokit-open",
    "ipc-posix-sem",
    "ipc-posix-shm-read*",
    "ipc-posix-shm-read-data",
    "ipc-posix-shm-write-create",
    "ipc-posix-shm-write-unlink",
    "mach-lookup",
    "network-bind",
    "network-inbound",
    "network-outbound",
    "process-exec",
    "process-fork",
    "process-info*",
    "pseudo-tty",
    "signal",
    "sysctl-read",
    "sysctl-write",
    "system-fsctl",
    "system-mac-syscall",
    "system-socket",
    "user-preference-read",
    NULL,
};

static int in_list(const char *const *l, const char *s) {
  for (; *l; l++)
    if (strcmp(*l, s) == 0) return 1;
  return 0;
}

typedef struct checker {
  const char *const *params;
  size_t nparams;
  char *used;
  char *err;
  size_t errlen;
} checker;

static int fail(checker *c, const sx *x, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(checker *c, const sx *x, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  set_err(c->err, c->errlen, "line %d: %s", x->line, msg);
  return 0;
}

static int param_index(const char *const *params, size_t n, const char *key) {
  size_t kl = strlen(key);
  for (size_t i = 0; i < n; i++)
    if (strncmp(params[i], key, kl) == 0 && params[i][kl] == '=') return (int)i;
  return -1;
}

static int is_string(const sx *x) { return x->kind == SX_STR || x->kind == SX_RAW; }

static int check_path_arg(checker *c, const sx *a) {
  if (is_string(a)) {
    if (a->text[0] != '/') return fail(c, a, "path literal `%s` is not absolute", a->text);
    return 1;
  }
  if (head_is(a, "param") && a->n == 2 && a->items[1]->kind == SX_STR) {
    if (c->params) {
      int i = param_index(c->params, c->nparams, a->items[1]->text);
      if (i < 0) return fail(c, a, "undefined parameter `%s`", a->items[1]->text);
      c->used[i] = 1;
    }
    return 1;
  }
  return fail(c, a, "expected a path string or (param \"K\")%s", "");
}

static int check_filter(checker *c, const sx *f);

static int check_regex_arg(checker *c, const sx *a) {
  if (!is_string(a)) return fail(c, a, "regex argument must be a string%s", "");
  if (a->re_bad) return fail(c, a, "regex `%s` does not compile as a POSIX ERE", a->text);
  return 1;
}

static int check_filter(checker *c, const sx *f) {
  if (f->kind != SX_LIST || f->n == 0 || f->items[0]->kind != SX_SYM)
    return fail(c, f, "expected a filter list%s", "");
  const char *h = f->items[0]->text;
  size_t nargs = f->n - 1;
  const sx *a = nargs ? f->items[1] : NULL;
  if (!strcmp(h, "literal") || !strcmp(h, "subpath") || !strcmp(h, "path-ancestors")) {
    if (nargs != 1) return fail(c, f, "(%s) takes one argument", h);
    return check_path_arg(c, a);
  }
  if (!strcmp(h, "regex") || !strcmp(h, "ipc-posix-name-regex")) {
    if (nargs != 1) return fail(c, f, "(%s) takes one argument", h);
    return check_regex_arg(c, a);
  }
  if (!strcmp(h, "require-all") || !strcmp(h, "require-any")) {
    if (nargs < 1) return fail(c, f, "(%s) needs filters", h);
    for (size_t i = 1; i < f->n; i++)
      if (!check_filter(c, f->items[i])) return 0;
    return 1;
  }
  if (!strcmp(h, "require-not")) {
    if (nargs != 1) return fail(c, f, "(require-not) takes one filter%s", "");
    return check_filter(c, a);
  }
  static const char *const string_filters[] = {
      "sysctl-name", "sysctl-name-prefix", "iokit-registry-entry-class", "global-name",
      "local-name",  "ipc-posix-name",     "ipc-posix-name-prefix",      "extension",
      "mac-policy-name", NULL};
  if (in_list(string_filters, h)) {
    if (nargs != 1 || !is_string(a)) return fail(c, f, "(%s) takes one string", h);
    return 1;
  }
  if (!strcmp(h, "vnode-type")) {
    static const char *const types[] = {"DIRECTORY", "REGULAR-FILE", "CHARACTER-DEVICE",
                                        "SYMLINK", NULL};
    if (nargs != 1 || a->kind != SX_SYM || !in_list(types, a->text))
      return fail(c, f, "bad (vnode-type)%s", "");
    return 1;
  }
  if (!strcmp(h, "target")) {
    if (nargs != 1 || a->kind != SX_SYM || strcmp(a->text, "same-sandbox") != 0)
      return fail(c, f, "bad (target)%s", "");
    return 1;
  }
  if (!strcmp(h, "socket-domain")) {
    static const char *const doms[] = {"AF_UNIX", "AF_SYSTEM", "AF_INET", "AF_INET6", NULL};
    if (nargs != 1 || a->kind != SX_SYM || !in_list(doms, a->text))
      return fail(c, f, "bad (socket-domain)%s", "");
    return 1;
  }
  if (!strcmp(h, "socket-protocol") || !strcmp(h, "mac-syscall-number")) {
    if (nargs != 1 || a->kind != SX_NUM) return fail(c, f, "(%s) takes a number", h);
    return 1;
  }
  if (!strcmp(h, "fsctl-command")) {
    if (nargs != 1 || a->kind != SX_SYM) return fail(c, f, "(fsctl-command) takes a name%s", "");
    return 1;
  }
  if (!strcmp(h, "local") || !strcmp(h, "remote")) {
    if (nargs < 1 || a->kind != SX_SYM) return fail(c, f, "(%s) needs ip or unix-socket", h);
    if (!strcmp(a->text, "ip")) {
      if (nargs != 2 || !is_string(f->items[2])) return fail(c, f, "(%s ip) takes one string", h);
      regex_t r;
      regcomp(&r, "^(\\*|localhost):(\\*|[0-9]+)$", REG_EXTENDED | REG_NOSUB);
      int ok = regexec(&r, f->items[2]->text, 0, NULL, 0) == 0;
      regfree(&r);
      if (!ok) return fail(c, f, "bad address `%s`", f->items[2]->text);
      return 1;
    }
    if (!strcmp(a->text, "unix-socket")) {
      if (nargs == 1) return 1;
      if (nargs == 2) return check_filter(c, f->items[2]);
      return fail(c, f, "(%s unix-socket) takes at most one filter", h);
    }
    return fail(c, f, "unknown address kind `%s`", a->text);
  }
  return fail(c, f, "unknown filter `%s`", h);
}

int sbpl_check(const sbpl_program *p, const char *const *params, size_t nparams, char *err,
               size_t errlen) {
  checker c = {params, nparams, calloc(nparams + 1, 1), err, errlen};
  int ok = 1;
  if (p->n < 2 || !head_is(p->forms[0], "version") || p->forms[0]->n != 2 ||
      p->forms[0]->items[1]->kind != SX_NUM || strcmp(p->forms[0]->items[1]->text, "1") != 0) {
    set_err(err, errlen, "the profile must start with (version 1)");
    ok = 0;
  } else if (!head_is(p->forms[1], "deny") || p->forms[1]->n != 2 ||
             p->forms[1]->items[1]->kind != SX_SYM ||
             strcmp(p->forms[1]->items[1]->text, "default") != 0) {
    set_err(err, errlen, "the second form must be (deny default)");
    ok = 0;
  }
  for (size_t i = 2; ok && i < p->n; i++) {
    const sx *f = p->forms[i];
    if (!head_is(f, "allow") && !head_is(f, "deny")) {
      ok = fail(&c, f, "top-level form is not allow/deny%s", "");
      break;
    }
    size_t k = 1;
    for (; k < f->n && f->items[k]->kind == SX_SYM; k++) {
      if (!in_list(kOperations, f->items[k]->text) || !strcmp(f->items[k]->text, "default")) {
        ok = fail(&c, f->items[k], "unknown operation `%s`", f->items[k]->text);
        break;
      }
    }
    if (!ok) break;
    if (k == 1) {
      ok = fail(&c, f, "rule without an operation%s", "");
      break;
    }
    for (; ok && k < f->n; k++) ok = check_filter(&c, f->items[k]);
  }
  for (size_t i = 0; ok && params && i < nparams; i++) {
    if (!c.used[i]) {
      set_err(err, errlen, "parameter `%s` is never used", params[i]);
      ok = 0;
    }
  }
  free(c.used);
  return ok;
}

/* ---- interpreter ---------------------------------------------------------------- */

typedef struct query {
  const char *const *params;
  size_t nparams;
  const char *path;
  const char *vnode;
} query;

static const char *path_value(const query *q, const sx *a) {
  if (is_string(a)) return a->text;
  if (head_is(a, "param") && a->n == 2) {
    int i = param_index(q->params, q->nparams, a->items[1]->text);
    if (i >= 0) return strchr(q->params[i], '=') + 1;
  }
  return NULL;
}

/* Component-wise: `prefix` is `path` or one of its ancestors. */
static int under(const char *prefix, const char *path) {
  if (strcmp(prefix, "/") == 0) return path[0] == '/';
  size_t n = strlen(prefix);
  return strncmp(prefix, path, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static int eval_filter(const query *q, const sx *f) {
  if (f->kind != SX_LIST || f->n == 0) return 0;
  const char *h = f->items[0]->text;
  if (!strcmp(h, "require-all")) {
    for (size_t i = 1; i < f->n; i++)
      if (!eval_filter(q, f->items[i])) return 0;
    return 1;
  }
  if (!strcmp(h, "require-any")) {
    for (size_t i = 1; i < f->n; i++)
      if (eval_filter(q, f->items[i])) return 1;
    return 0;
  }
  if (!strcmp(h, "require-not")) return !eval_filter(q, f->items[1]);
  if (!strcmp(h, "literal") || !strcmp(h, "subpath") || !strcmp(h, "path-ancestors")) {
    const char *v = path_value(q, f->items[1]);
    if (!v) return 0;
    if (!strcmp(h, "literal")) return strcmp(v, q->path) == 0;
    if (!strcmp(h, "subpath")) return under(v, q->path);
    return under(q->path, v);
  }
  if (!strcmp(h, "regex")) {
    const sx *a = f->items[1];
    return a->re && regexec(a->re, q->path, 0, NULL, 0) == 0;
  }
  if (!strcmp(h, "vnode-type")) return strcmp(f->items[1]->text, q->vnode) == 0;
  if (!strcmp(h, "local") || !strcmp(h, "remote")) {
    /* (local|remote unix-socket [FILTER]) is about the socket's path; an
     * ip endpoint never names one. */
    if (f->n < 2 || strcmp(f->items[1]->text, "unix-socket") != 0) return 0;
    return f->n == 2 || eval_filter(q, f->items[2]);
  }
  return 0; /* not about file paths */
}

static int op_matches(const char *rule_op, const char *op) {
  size_t n = strlen(rule_op);
  if (n > 0 && rule_op[n - 1] == '*') return strncmp(rule_op, op, n - 1) == 0;
  return strcmp(rule_op, op) == 0;
}

void sbpl_decide(const sbpl_program *p, const char *const *params, size_t nparams,
                 const char *operation, const char *path, const char *vnode_type,
                 sbpl_decision *out) {
  query q = {params, nparams, path, vnode_type};
  out->allowed = 0;
  out->rule = -1;
  out->section = "";
  for (size_t i = 2; i < p->n; i++) {
    const sx *f = p->forms[i];
    int allow = head_is(f, "allow");
    if (!allow && !head_is(f, "deny")) continue;
    size_t k = 1;
    int op_hit = 0;
    for (; k < f->n && f->items[k]->kind == SX_SYM; k++) op_hit |= op_matches(f->items[k]->text, operation);
    if (!op_hit) continue;
    int hit = k == f->n;
    for (; !hit && k < f->n; k++) hit = eval_filter(&q, f->items[k]);
    if (!hit) continue;
    out->allowed = allow;
    out->rule = (int)i;
    out->section = p->sections[i];
  }
}

/* ---- a case-insensitive volume --------------------------------------------------- */

static const struct {
  const char *utf8;
  const char *folded;
} kFolds[] = {
    {"\xc5\xbf", "s"},          /* U+017F LATIN SMALL LETTER LONG S */
    {"\xe2\x84\xaa", "k"},      /* U+212A KELVIN SIGN */
    {"\xc3\x9f", "ss"},         /* U+00DF LATIN SMALL LETTER SHARP S */
    {"\xe1\xba\x9e", "ss"},     /* U+1E9E LATIN CAPITAL LETTER SHARP S */
    {"\xef\xac\x80", "ff"},     /* U+FB00..U+FB06 ligatures */
    {"\xef\xac\x81", "fi"},
    {"\xef\xac\x82", "fl"},
    {"\xef\xac\x83", "ffi"},
    {"\xef\xac\x84", "ffl"},
    {"\xef\xac\x85", "st"},
    {"\xef\xac\x86", "st"},
    {"\xcd\xbe", ";"},          /* U+037E GREEK QUESTION MARK */
    {"\xe1\xbf\xaf", "`"},      /* U+1FEF GREEK VARIA */
};

char *sbpl_fold(const char *s) {
  size_t n = strlen(s);
  char *out = xrealloc(NULL, 3 * n + 1);
  size_t k = 0;
  while (*s) {
    size_t i = 0;
    for (; i < sizeof kFolds / sizeof kFolds[0]; i++) {
      size_t l = strlen(kFolds[i].utf8);
      if (strncmp(s, kFolds[i].utf8, l) == 0) {
        size_t fl = strlen(kFolds[i].folded);
        memcpy(out + k, kFolds[i].folded, fl);
        k += fl;
        s += l;
        break;
      }
    }
    if (i < sizeof kFolds / sizeof kFolds[0]) continue;
    out[k++] = (*s >= 'A' && *s <= 'Z') ? (char)(*s - 'A' + 'a') : *s;
    s++;
  }
  out[k] = '\0';
  return out;
}

struct sbpl_volume {
  char **stored, **folded;
  size_t n;
};

sbpl_volume *sbpl_volume_new(const char *const *existing, size_t n) {
  sbpl_volume *v = calloc(1, sizeof *v);
  if (!v) abort();
  v->stored = xrealloc(NULL, (n + 1) * sizeof(char *));
  v->folded = xrealloc(NULL, (n + 1) * sizeof(char *));
  for (size_t i = 0; i < n; i++) {
    v->stored[i] = xstrndup(existing[i], strlen(existing[i]));
    v->folded[i] = sbpl_fold(existing[i]);
  }
  v->n = n;
  return v;
}

void sbpl_volume_free(sbpl_volume *v) {
  if (!v) return;
  for (size_t i = 0; i < v->n; i++) {
    free(v->stored[i]);
    free(v->folded[i]);
  }
  free(v->stored);
  free(v->folded);
  free(v);
}

char *sbpl_volume_path(const sbpl_volume *v, const char *path) {
  size_t cap = strlen(path) + 2, cl = 0;
  char *cur = xrealloc(NULL, cap);
  cur[0] = '\0';
  int exists = 1;
  for (const char *c = path; *c;) {
    while (*c == '/') c++;
    if (!*c) break;
    size_t l = strcspn(c, "/");
    if (cl + l + 2 > cap) cur = xrealloc(cur, cap = 2 * (cl + l + 2));
    cur[cl++] = '/';
    memcpy(cur + cl, c, l);
    cl += l;
    cur[cl] = '\0';
    c += l;
    if (!exists) continue;
    char *want = sbpl_fold(cur);
    const char *stored = NULL;
    for (size_t i = 0; i < v->n && !stored; i++)
      if (strcmp(v->folded[i], want) == 0) stored = v->stored[i];
    free(want);
    if (stored == NULL) {
      exists = 0;
      continue;
    }
    cl = strlen(stored);
    if (cl + 1 > cap) cur = xrealloc(cur, cap = cl + 1);
    memcpy(cur, stored, cl + 1);
  }
  if (cl == 0) {
    cur = xrealloc(cur, 2);
    strcpy(cur, "/");
  }
  return cur;
}

/* winpath.c - lexical handling of Windows paths (csb_winpath_*), for policy
 * documents whose platform is "windows". Pure string work: it runs on any
 * host and never touches the filesystem (csb_winpath_effective_with sees it
 * only through its caller's callback).
 *
 * Normal form: `X:\a\b` (drive letter upper-cased, no trailing separator
 * except the root `X:\`) or `\\server\share\a\b` (root `\\server\share`).
 * Both separators are accepted on input; verbatim and device prefixes are
 * simplified: `\\?\X:\a` and `\\.\X:\a` become `X:\a`, `\\?\UNC\s\h\a`
 * becomes `\\s\h\a`. Comparison folds names as NTFS does (winfold.c). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "csb_paths.h"

static int is_sep(char c) { return c == '\\' || c == '/'; }

static int is_drive(const char *s) {
  return isalpha((unsigned char)s[0]) && s[1] == ':';
}

/* Strips a verbatim or device prefix; *unc is set for the UNC form.
 * Returns the rest of the path (separators still raw). */
static const char *strip_prefix(const char *p, int *unc) {
  *unc = 0;
  if (is_sep(p[0]) && is_sep(p[1]) && (p[2] == '?' || p[2] == '.') && is_sep(p[3])) {
    const char *r = p + 4;
    if ((r[0] == 'U' || r[0] == 'u') && (r[1] == 'N' || r[1] == 'n') &&
        (r[2] == 'C' || r[2] == 'c') && is_sep(r[3])) {
      *unc = 1;
      return r + 4;
    }
    return r;
  }
  if (is_sep(p[0]) && is_sep(p[1])) {
    *unc = 1;
    return p + 2;
  }
  return p;
}

/* Copies the next component of *pp (up to a separator) into b; returns its
 * length and advances *pp past it and any following separators. */
static size_t next_component(const char **pp, const char **start) {
  const char *p = *pp;
  while (is_sep(*p)) p++;
  *start = p;
  while (*p != '\0' && !is_sep(*p)) p++;
  size_t n = (size_t)(p - *start);
  *pp = p;
  return n;
}

int csb_winpath_is_absolute(const char *path) {
  int unc = 0;
  const char *r = strip_prefix(path, &unc);
  if (unc) {
    const char *c = NULL;
    const char *p = r;
    size_t n1 = next_component(&p, &c);
    if (n1 == 0 || r != c) return 0;
    /* A server `?` or `.` (`\\?\UNC\?\...`) has no normal form: written
     * as `\\?\...` or `\\.\...` it would read as a verbatim or device
     * path, another path. */
    if (n1 == 1 && (c[0] == '?' || c[0] == '.')) return 0;
    size_t n2 = next_component(&p, &c);
    return n2 > 0;
  }
  return is_drive(r) && is_sep(r[2]);
}

char *csb_winpath_normalize(const char *path) {
  if (path == NULL || !csb_winpath_is_absolute(path)) return NULL;
  int unc = 0;
  const char *p = strip_prefix(path, &unc);
  csb_buf b = {0};
  size_t root_len;
  if (unc) {
    const char *c = NULL;
    size_t n = next_component(&p, &c);
    csb_buf_puts(&b, "\\\\");
    csb_buf_append(&b, c, n);
    n = next_component(&p, &c);
    csb_buf_putc(&b, '\\');
    csb_buf_append(&b, c, n);
    root_len = b.len;
  } else {
    csb_buf_putc(&b, (char)toupper((unsigned char)p[0]));
    csb_buf_puts(&b, ":\\");
    p += 3;
    root_len = b.len;
  }
  for (;;) {
    const char *c = NULL;
    size_t n = next_component(&p, &c);
    if (n == 0) break;
    if (n == 1 && c[0] == '.') continue;
    if (n == 2 && c[0] == '.' && c[1] == '.') {
      if (b.len > root_len) {
        size_t i = b.len;
        while (i > root_len && b.data[i - 1] != '\\') i--;
        /* i is just after the separator; drop the separator too unless it
         * belongs to a drive root. */
        if (i > root_len) i--;
        b.len = i;
        b.data[b.len] = '\0';
      }
      continue;
    }
    if (b.data[b.len - 1] != '\\') csb_buf_putc(&b, '\\');
    csb_buf_append(&b, c, n);
  }
  return csb_buf_steal(&b);
}

/* Length of the root of a normalised path ("C:\" = 3, "\\s\h" = its
 * length up to the share's end). */
static size_t root_length(const char *p) {
  if (p[0] == '\\' && p[1] == '\\') {
    const char *q = p + 2;
    while (*q && *q != '\\') q++;
    if (*q == '\\') q++;
    while (*q && *q != '\\') q++;
    return (size_t)(q - p);
  }
  return strlen(p) >= 3 ? 3 : strlen(p);
}

/* ASCII-only comparison, for the fixed ASCII names below. */
static int eq_fold(const char *a, const char *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i])) return 0;
  return 1;
}

int csb_winpath_equal(const char *a, const char *b) {
  return csb_winname_equal(a, strlen(a), b, strlen(b));
}

/* Folding maps code points to code points and leaves `\` alone, so the
 * folded path starts with the folded prefix exactly when the prefix's
 * code points fold equal to the path's first ones. */
int csb_winpath_is_under(const char *prefix, const char *path) {
  char *fp = csb_winname_fold(prefix, strlen(prefix));
  char *fq = csb_winname_fold(path, strlen(path));
  size_t n = strlen(fp);
  int under = 0;
  if (strncmp(fp, fq, n) == 0)
    under = fq[n] == '\0' || (n > 0 && fp[n - 1] == '\\') /* drive root "C:\" */ ||
            fq[n] == '\\';
  free(fp);
  free(fq);
  return under;
}

size_t csb_winpath_prefix_bytes(const char *prefix, const char *path) {
  char *fp = csb_winname_fold(prefix, strlen(prefix));
  size_t n = csb_winname_prefix_bytes(path, strlen(fp));
  free(fp);
  return n;
}

size_t csb_winpath_depth(const char *path) {
  size_t r = root_length(path);
  size_t d = 0;
  const char *p = path + r;
  for (;;) {
    const char *c = NULL;
    if (next_component(&p, &c) == 0) break;
    d++;
  }
  return d;
}

char *csb_winpath_root(const char *path) {
  char *n = csb_winpath_normalize(path);
  if (n == NULL) return NULL;
  n[root_length(n)] = '\0';
  return n;
}

char *csb_winpath_join(const char *base, const char *rel) {
  if (csb_winpath_is_absolute(rel)) return csb_winpath_normalize(rel);
  char *joined = csb_xasprintf("%s\\%s", base, rel);
  char *n = csb_winpath_normalize(joined);
  free(joined);
  return n;
}

char *csb_winpath_relative_to(const char *root, const char *path) {
  if (!csb_winpath_is_under(root, path)) return NULL;
  size_t n = csb_winpath_prefix_bytes(root, path);
  const char *rest = path + n;
  while (*rest == '\\') rest++;
  if (csb_winpath_is_absolute(rest)) return csb_xasprintf(".\\%s", rest);
  return csb_xstrdup(rest);
}

int csb_winpath_is_root(const char *path) {
  return csb_winpath_is_absolute(path) && csb_winpath_depth(path) == 0;
}

char *csb_winpath_parent(const char *path) {
  char *n = csb_winpath_normalize(path);
  if (n == NULL) return NULL;
  size_t r = root_length(n);
  size_t len = strlen(n);
  if (len <= r) {
    free(n);
    return NULL;
  }
  size_t i = len;
  while (i > r && n[i - 1] != '\\') i--;
  /* i is just after the last separator; keep it only for a drive root. */
  if (i > r) i--;
  n[i] = '\0';
  return n;
}

char *csb_winpath_basename(const char *path) {
  char *n = csb_winpath_normalize(path);
  if (n == NULL) return csb_xstrdup("");
  size_t r = root_length(n);
  size_t len = strlen(n);
  size_t i = len;
  while (i > r && n[i - 1] != '\\') i--;
  char *b = csb_xstrdup(len > r ? n + i : "");
  free(n);
  return b;
}

char *csb_winpath_key(const char *path) {
  char *norm = csb_winpath_normalize(path);
  if (norm == NULL) return NULL;
  char *n = csb_winname_fold(norm, strlen(norm));
  free(norm);
  for (char *c = n; *c; c++)
    if (*c == '\\') *c = '/';
  size_t len = strlen(n);
  while (len > 0 && n[len - 1] == '/' && !(len == 2 && n[0] == '/')) n[--len] = '\0';
  return n;
}

/* DOS device names, reserved in every directory: CON, PRN, AUX, NUL,
 * COM0-9, LPT0-9 (also with the superscript digits ¹ ² ³, which Win32
 * counts as digits there), CONIN$, CONOUT$, alone or with an extension;
 * spaces before the extension do not count (`NUL .txt` is NUL). */
static int is_device_name(const char *s, size_t n) {
  size_t stem = 0;
  while (stem < n && s[stem] != '.') stem++;
  while (stem > 0 && s[stem - 1] == ' ') stem--;
  static const char *const three[] = {"CON", "PRN", "AUX", "NUL"};
  if (stem == 3) {
    for (size_t i = 0; i < 4; i++)
      if (eq_fold(s, three[i], 3)) return 1;
  }
  if (stem >= 4 && (eq_fold(s, "COM", 3) || eq_fold(s, "LPT", 3))) {
    if (stem == 4 && isdigit((unsigned char)s[3])) return 1;
    /* U+00B9, U+00B2, U+00B3 in UTF-8 */
    if (stem == 5 && (unsigned char)s[3] == 0xC2 &&
        ((unsigned char)s[4] == 0xB9 || (unsigned char)s[4] == 0xB2 || (unsigned char)s[4] == 0xB3))
      return 1;
  }
  if ((stem == 6 && eq_fold(s, "CONIN$", 6)) || (stem == 7 && eq_fold(s, "CONOUT$", 7))) return 1;
  return 0;
}

const char *csb_winpath_name_problem(const char *name, size_t n) {
  if (n == 0) return "an empty name";
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)name[i];
    if (c < 0x20) return "a control character";
    if (strchr("<>:\"|?*", c) != NULL) return "a character Windows does not allow in names";
  }
  if (n == 1 && name[0] == '.') return NULL;
  if (n == 2 && name[0] == '.' && name[1] == '.') return NULL;
  if (name[n - 1] == '.' || name[n - 1] == ' ')
    return "a final dot or space, which Windows drops";
  if (is_device_name(name, n)) return "a DOS device name";
  return NULL;
}

const char *csb_winpath_names_problem(const char *path) {
  char *norm = csb_winpath_normalize(path);
  if (norm == NULL) return "not an absolute Windows path";
  const char *p = norm + root_length(norm);
  const char *why = NULL;
  for (;;) {
    const char *c = NULL;
    size_t n = next_component(&p, &c);
    if (n == 0) break;
    if ((why = csb_winpath_name_problem(c, n)) != NULL) break;
  }
  free(norm);
  return why;
}

int csb_winpath_effective_with(const char *path, csb_winpath_canonical_fn canonical, void *ctx,
                               char **out, csb_error *err) {
  *out = NULL;
  char *cur = csb_winpath_normalize(path);
  if (cur == NULL) return csb_error_set(err, "`%s` is not an absolute Windows path", path);
  csb_strv rest;
  csb_strv_init(&rest);
  char *canon = NULL;
  for (;;) {
    if (!canonical(ctx, cur, &canon)) canon = NULL;
    if (canon != NULL) break;
    char *up = csb_winpath_parent(cur);
    if (up == NULL) break;
    csb_strv_push_owned(&rest, csb_winpath_basename(cur));
    free(cur);
    cur = up;
  }
  char *res = canon != NULL ? canon : csb_xstrdup(cur);
  for (size_t i = rest.len; i > 0; i--) {
    char *j = csb_winpath_join(res, rest.items[i - 1]);
    free(res);
    res = j;
  }
  free(cur);
  csb_strv_free(&rest);
  *out = res;
  return 1;
}

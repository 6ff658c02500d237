/* pattern.c - domain pattern normalisation, validation and matching. */
#include <ctype.h>
#include <string.h>

#include "netpolicy_internal.h"

/* Case-insensitive glob over [p, pe) against [s, se): `*` any run of
 * characters (dots included), `?` one character, `[...]` a class with
 * ranges and `!`/`^` negation. Patterns are validated beforehand. */
static int class_match(const char **pp, const char *pe, char c) {
  const char *p = *pp + 1;
  int neg = 0, hit = 0;
  if (p < pe && (*p == '!' || *p == '^')) {
    neg = 1;
    p++;
  }
  int first = 1;
  while (p < pe && (*p != ']' || first)) {
    first = 0;
    char lo = (char)tolower((unsigned char)*p);
    char hi = lo;
    if (p + 2 < pe && p[1] == '-' && p[2] != ']') {
      hi = (char)tolower((unsigned char)p[2]);
      p += 3;
    } else {
      p++;
    }
    if (c >= lo && c <= hi) hit = 1;
  }
  *pp = p; /* at ']' */
  return hit != neg;
}

static int glob_match(const char *p, const char *pe, const char *s, const char *se) {
  const char *star_p = NULL, *star_s = NULL;
  while (s < se) {
    char c = (char)tolower((unsigned char)*s);
    if (p < pe && *p == '*') {
      while (p < pe && *p == '*') p++;
      star_p = p;
      star_s = s;
      continue;
    }
    if (p < pe && *p == '?') {
      p++;
      s++;
      continue;
    }
    if (p < pe && *p == '[') {
      const char *q = p;
      if (class_match(&q, pe, c)) {
        p = q + 1;
        s++;
        continue;
      }
    } else if (p < pe && (char)tolower((unsigned char)*p) == c) {
      p++;
      s++;
      continue;
    }
    if (!star_p) return 0;
    p = star_p;
    s = ++star_s;
  }
  while (p < pe && *p == '*') p++;
  return p == pe;
}

static int glob_match_str(const char *pat, const char *s) {
  return glob_match(pat, pat + strlen(pat), s, s + strlen(s));
}

/* `?*.REST`: some non-empty prefix, a dot, then REST. The empty host has
 * no such prefix (and no byte after its NUL to look at). */
static int sub_match(const char *rest, const char *host) {
  if (host[0] == '\0') return 0;
  for (const char *d = host + 1; *d; d++) {
    if (*d == '.' && glob_match_str(rest, d + 1)) return 1;
  }
  return 0;
}

int csb_netpolicy_pattern_matches(const char *pattern, const char *host) {
  if (strncmp(pattern, "**.", 3) == 0) {
    const char *rest = pattern + 3;
    return glob_match_str(rest, host) || sub_match(rest, host);
  }
  if (strncmp(pattern, "*.", 2) == 0) return sub_match(pattern + 2, host);
  return glob_match_str(pattern, host);
}

static int glob_valid(const char *p, csb_error *err, const char *orig) {
  for (; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '[') {
      const char *q = p + 1;
      if (*q == '!' || *q == '^') q++;
      if (*q == ']') q++;
      while (*q && *q != ']') q++;
      if (*q != ']') return csb_error_set(err, "invalid glob pattern: %s", orig);
      if (q == p + 1) return csb_error_set(err, "invalid glob pattern: %s", orig);
      p = q;
      continue;
    }
    if (c == ']' || c == '{' || c == '}' || c == '\\' || c == '/' || c <= ' ' || c >= 0x7f)
      return csb_error_set(err, "invalid glob pattern: %s", orig);
  }
  return 1;
}

char *np_normalize_pattern(const char *pattern, csb_error *err) {
  size_t b = 0, e = strlen(pattern);
  while (b < e && isspace((unsigned char)pattern[b])) b++;
  while (e > b && isspace((unsigned char)pattern[e - 1])) e--;
  char *trimmed = csb_xstrndup(pattern + b, e - b);
  char *out = NULL;
  if (strcmp(trimmed, "*") == 0) {
    out = csb_xstrdup("*");
  } else {
    const char *prefix = "";
    const char *rest = trimmed;
    if (strncmp(trimmed, "**.", 3) == 0) {
      prefix = "**.";
      rest = trimmed + 3;
    } else if (strncmp(trimmed, "*.", 2) == 0) {
      prefix = "*.";
      rest = trimmed + 2;
    }
    if (rest[0] == '[' && !strchr(rest, ']')) {
      free(trimmed);
      csb_error_set(err, "invalid glob pattern: %s", pattern);
      return NULL;
    }
    char *norm = csb_netpolicy_normalize_host(rest);
    if (!*norm) {
      /* Brackets that hold no host, or a blank left before a port ("a :80":
       * no host either), are bad patterns; nothing before a port is none. */
      int blank = 0;
      for (const char *q = rest; *q; q++) blank |= (unsigned char)*q <= ' ';
      if (rest[0] == '[' || blank)
        csb_error_set(err, "invalid glob pattern: %s", pattern);
      else
        csb_error_set(err, "invalid domain pattern `%s`: empty host", pattern);
      free(norm);
      free(trimmed);
      return NULL;
    }
    out = csb_xasprintf("%s%s", prefix, norm);
    free(norm);
  }
  free(trimmed);
  const char *body = out;
  if (strncmp(body, "**.", 3) == 0)
    body += 3;
  else if (strncmp(body, "*.", 2) == 0)
    body += 2;
  if (!glob_valid(body, err, pattern)) {
    free(out);
    return NULL;
  }
  return out;
}

int np_pattern_is_global(const char *pat) {
  const char *p = pat;
  if (strncmp(p, "**.", 3) == 0)
    p += 3;
  else if (strncmp(p, "*.", 2) == 0)
    p += 2;
  if (!*p) return 1;
  while (*p) {
    if (*p == '*') {
      p++;
    } else if (strncmp(p, "[*]", 3) == 0) {
      p += 3;
    } else if (*p == '.' && p != pat) {
      p++;
    } else {
      return 0;
    }
  }
  return 1;
}

int np_pattern_is_exact(const char *pat) {
  return strpbrk(pat, "*?[") == NULL;
}

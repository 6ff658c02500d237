/* env.c - child environment: the proxy variable family, CA variables with
 * materialised bundles, and the state record for --strip-env. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include "cJSON.h"
#include "csb_proxyenv.h"
#include "csb_tlsutil.h"
#include "env.h"

#define CA_FILE_MAX (4u << 20)
#define CA_DIR_ENTRIES 256

static const char *const k_no_proxy_keys[] = {"NO_PROXY",           "no_proxy",      "npm_config_noproxy",
                                              "NPM_CONFIG_NOPROXY", "YARN_NO_PROXY", "BUNDLE_NO_PROXY",
                                              NULL};
#define NO_PROXY_VALUE "localhost,127.0.0.1,::1,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16"
const char *const px_ca_keys[] = {"CSB_CA_CERTIFICATE", "SSL_CERT_FILE",     "REQUESTS_CA_BUNDLE",
                                  "CURL_CA_BUNDLE",     "NODE_EXTRA_CA_CERTS", "GIT_SSL_CAINFO",
                                  "PIP_CERT",           "BUNDLE_SSL_CA_CERT", "npm_config_cafile",
                                  "NPM_CONFIG_CAFILE",  "CARGO_HTTP_CAINFO", "NIX_SSL_CERT_FILE",
                                  NULL};

static void change(px_env_changes *ch, const char *key, const char *value) {
  for (size_t i = 0; i < ch->n; i++) {
    if (strcmp(ch->v[i].key, key) == 0) {
      free(ch->v[i].value);
      ch->v[i].value = value ? csb_xstrdup(value) : NULL;
      return;
    }
  }
  ch->v = csb_xrealloc(ch->v, (ch->n + 1) * sizeof *ch->v);
  ch->v[ch->n].key = csb_xstrdup(key);
  ch->v[ch->n].value = value ? csb_xstrdup(value) : NULL;
  ch->n++;
}

void px_env_changes_free(px_env_changes *ch) {
  for (size_t i = 0; i < ch->n; i++) {
    free(ch->v[i].key);
    free(ch->v[i].value);
  }
  free(ch->v);
  ch->v = NULL;
  ch->n = 0;
}

/* ---- reading CA material the child may read ------------------------------- */

static int can_read(const px_env_opts *o, const char *path) { return !o->can_read || o->can_read(o->can_read_ctx, path); }

static char *resolve(const px_env_opts *o, const char *p) {
  if (p[0] == '/' || !o->cwd) return csb_xstrdup(p);
  return csb_xasprintf("%s/%s", o->cwd, p);
}

/* Reads a CA file under the rules of docs/csb-proxy.md: readable by the
 * child (before and after resolving links), a regular file no larger than
 * 4 MiB, opened without following a final link, the same file as the
 * resolved path, and holding at least one certificate. Appends only its
 * certificates (re-encoded PEM), so that a bundle made from it holds
 * nothing else (csb-bwrap binds only such files into a sandbox). */
static int read_ca_file(const px_env_opts *o, const char *path, csb_buf *out, char *why, size_t wn) {
  if (!can_read(o, path)) return snprintf(why, wn, "%.400s is not readable under the policy", path), 0;
  char *real = realpath(path, NULL);
  if (!real) return snprintf(why, wn, "%.400s: %s", path, strerror(errno)), 0;
  int ok = 0;
  int fd = -1;
  if (!can_read(o, real)) {
    snprintf(why, wn, "%.400s is not readable under the policy", real);
    goto done;
  }
  fd = open(real, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  struct stat st, st2;
  if (fd < 0 || fstat(fd, &st) != 0) {
    snprintf(why, wn, "%.400s: %s", real, strerror(errno));
    goto done;
  }
  if (!S_ISREG(st.st_mode) || st.st_size > (off_t)CA_FILE_MAX) {
    snprintf(why, wn, "%.400s is not a regular file of at most 4 MiB", real);
    goto done;
  }
  char link[64], target[PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t tl = readlink(link, target, sizeof target - 1);
  if (tl > 0) {
    target[tl] = '\0';
    if (!can_read(o, target)) {
      snprintf(why, wn, "%.400s is not readable under the policy", target);
      goto done;
    }
  }
  if (stat(real, &st2) != 0 || st2.st_dev != st.st_dev || st2.st_ino != st.st_ino) {
    snprintf(why, wn, "%.400s changed while being read", real);
    goto done;
  }
  char *data = NULL;
  size_t len = 0;
  csb_error e;
  if (!csb_read_fd(fd, real, CA_FILE_MAX, &data, &len, &e)) {
    snprintf(why, wn, "%.400s", e.msg);
    goto done;
  }
  if (csb_tls_pem_certs(data, len, out) == 0) {
    snprintf(why, wn, "%.400s holds no PEM certificate", real);
    free(data);
    goto done;
  }
  free(data);
  ok = 1;
done:
  if (fd >= 0) close(fd);
  free(real);
  return ok;
}

/* Collects the certificates of SSL_CERT_DIR (colon-separated). 1 when the
 * directories were read within the limits (content may be empty). */
static int read_ca_dirs(const px_env_opts *o, const char *dirs, csb_buf *out) {
  char *copy = csb_xstrdup(dirs);
  char *save = NULL;
  int ok = 1;
  for (char *d = strtok_r(copy, ":", &save); d && ok; d = strtok_r(NULL, ":", &save)) {
    char *abs = resolve(o, d);
    char *real = can_read(o, abs) ? realpath(abs, NULL) : NULL;
    free(abs);
    struct stat st;
    if (!real || !can_read(o, real) || stat(real, &st) != 0 || !S_ISDIR(st.st_mode)) {
      free(real);
      continue;
    }
    DIR *dir = opendir(real);
    if (!dir) {
      free(real);
      continue;
    }
    struct dirent *e;
    size_t entries = 0;
    while ((e = readdir(dir)) != NULL) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
      if (++entries > CA_DIR_ENTRIES) {
        fprintf(stderr, "csb-proxy: warning: CA directory exceeds %d entries: %s\n", CA_DIR_ENTRIES, real);
        ok = 0;
        break;
      }
      char *p = csb_xasprintf("%s/%s", real, e->d_name);
      char why[512];
      csb_buf one;
      csb_buf_init(&one);
      if (read_ca_file(o, p, &one, why, sizeof why)) {
        if (out->len + one.len > CA_FILE_MAX) {
          fprintf(stderr, "csb-proxy: warning: CA directory exceeds %u bytes: %s\n", CA_FILE_MAX, real);
          ok = 0;
        } else {
          csb_buf_append(out, one.data, one.len);
        }
      }
      csb_buf_free(&one);
      free(p);
      if (!ok) break;
    }
    closedir(dir);
    free(real);
  }
  free(copy);
  return ok;
}

static int persist(const px_env_opts *o, const csb_buf *custom, char **path, csb_error *err) {
  csb_buf b;
  csb_buf_init(&b);
  csb_buf_append(&b, custom->data, custom->len);
  if (b.len && b.data[b.len - 1] != '\n') csb_buf_putc(&b, '\n');
  csb_buf_append(&b, o->baseline_pem, o->baseline_len);
  int ok = csb_tls_persist_bundle(o->ca_dir, b.data, b.len, path, err);
  csb_buf_free(&b);
  return ok;
}

/* ---- compute -------------------------------------------------------------------------- */

static void record_state(char **envp, px_env_changes *ch) {
  csb_buf b;
  csb_buf_init(&b);
  csb_buf_puts(&b, "{\"set\":{");
  int first = 1;
  for (size_t i = 0; i < ch->n; i++) {
    if (!ch->v[i].value) continue;
    if (!first) csb_buf_putc(&b, ',');
    first = 0;
    csb_buf_put_json_string(&b, ch->v[i].key, strlen(ch->v[i].key));
    csb_buf_putc(&b, ':');
    csb_buf_put_json_string(&b, ch->v[i].value, strlen(ch->v[i].value));
  }
  csb_buf_puts(&b, "},\"orig\":{");
  first = 1;
  for (size_t i = 0; i < ch->n; i++) {
    const char *old = csb_env_get(envp, ch->v[i].key);
    if (!old) continue;
    if (!first) csb_buf_putc(&b, ',');
    first = 0;
    csb_buf_put_json_string(&b, ch->v[i].key, strlen(ch->v[i].key));
    csb_buf_putc(&b, ':');
    csb_buf_put_json_string(&b, old, strlen(old));
  }
  /* an outer csb-proxy's record, restored by --strip-env */
  const char *outer = csb_env_get(envp, PX_ENV_STATE_KEY);
  if (outer) {
    if (!first) csb_buf_putc(&b, ',');
    csb_buf_put_json_string(&b, PX_ENV_STATE_KEY, strlen(PX_ENV_STATE_KEY));
    csb_buf_putc(&b, ':');
    csb_buf_put_json_string(&b, outer, strlen(outer));
  }
  csb_buf_puts(&b, "}}");
  change(ch, PX_ENV_STATE_KEY, b.data);
  csb_buf_free(&b);
}

int px_env_compute(const px_env_opts *o, char **envp, px_env_changes *out, csb_error *err) {
  memset(out, 0, sizeof *out);
  change(out, "CSB_NETWORK_PROXY_ACTIVE", "1");
  change(out, "CSB_NETWORK_ALLOW_LOCAL_BINDING", o->allow_local_binding ? "1" : "0");
  /* every proxy variable (and the lower-case spellings tools read): the
   * HTTP listener, or the SOCKS one for any-protocol variables */
  for (size_t i = 0; i < CSB_PROXYENV_N_VARS; i++) {
    const csb_proxyenv_var *v = &csb_proxyenv_vars[i];
    const char *url = (v->flags & CSB_PROXYENV_ANY_PROTOCOL) && o->socks_url ? o->socks_url : o->http_url;
    change(out, v->upper, url);
    if (v->flags & CSB_PROXYENV_LOWER_TOO) change(out, v->lower, url);
  }
  for (size_t i = 0; k_no_proxy_keys[i]; i++) change(out, k_no_proxy_keys[i], NO_PROXY_VALUE);
  change(out, "ELECTRON_GET_USE_PROXY", "true");
  change(out, "NODE_USE_ENV_PROXY", "1");
  if (o->mitm) {
    change(out, "CSB_NETWORK_PROXY_MITM_CA_ENV_ACTIVE", "1");
    csb_buf dirs;
    csb_buf_init(&dirs);
    const char *certdir = csb_env_get(envp, "SSL_CERT_DIR");
    int dirs_ok = 1;
    if (certdir && *certdir) dirs_ok = read_ca_dirs(o, certdir, &dirs);
    if (!dirs_ok) csb_buf_reset(&dirs);
    char *dirs_bundle = NULL;
    if (dirs.len > 0) {
      if (!persist(o, &dirs, &dirs_bundle, err)) {
        csb_buf_free(&dirs);
        return 0;
      }
      change(out, "SSL_CERT_DIR", NULL);
    }
    csb_strv bundles;
    csb_strv_init(&bundles);
    for (size_t i = 0; px_ca_keys[i]; i++) {
      const char *k = px_ca_keys[i];
      const char *v = csb_env_get(envp, k);
      int custom = v && *v && strcmp(v, o->baseline_path) != 0 &&
                   !csb_tls_is_managed_bundle(o->ca_dir, o->ca_pem, o->ca_len, v);
      if (!custom) {
        const char *p = dirs_bundle ? dirs_bundle : o->baseline_path;
        change(out, k, p);
        csb_strv_push(&bundles, p);
        continue;
      }
      char *abs = resolve(o, v);
      csb_buf content;
      csb_buf_init(&content);
      char why[512];
      if (!read_ca_file(o, abs, &content, why, sizeof why)) {
        fprintf(stderr, "csb-proxy: warning: %s=%s is kept as is: %s\n", k, v, why);
        csb_buf_free(&content);
        free(abs);
        continue;
      }
      free(abs);
      csb_buf_append(&content, dirs.data, dirs.len);
      char *path = NULL;
      if (!persist(o, &content, &path, err)) {
        csb_buf_free(&content);
        csb_buf_free(&dirs);
        free(dirs_bundle);
        csb_strv_free(&bundles);
        return 0;
      }
      change(out, k, path);
      csb_strv_push(&bundles, path);
      free(path);
      csb_buf_free(&content);
    }
    csb_strv_sort_unique(&bundles);
    csb_buf list;
    csb_buf_init(&list);
    for (size_t i = 0; i < bundles.len; i++) {
      if (i) csb_buf_putc(&list, ':');
      csb_buf_puts(&list, bundles.items[i]);
    }
    if (list.len) change(out, PX_ENV_BUNDLES_KEY, list.data);
    csb_buf_free(&list);
    csb_strv_free(&bundles);
    csb_buf_free(&dirs);
    free(dirs_bundle);
  }
  record_state(envp, out);
  return 1;
}

void px_env_strip_changes(char **envp, px_env_changes *out) {
  memset(out, 0, sizeof *out);
  const char *state = csb_env_get(envp, PX_ENV_STATE_KEY);
  if (!state) return;
  cJSON *j = cJSON_Parse(state);
  const cJSON *set = j ? cJSON_GetObjectItemCaseSensitive(j, "set") : NULL;
  const cJSON *orig = j ? cJSON_GetObjectItemCaseSensitive(j, "orig") : NULL;
  if (cJSON_IsObject(set)) {
    for (const cJSON *e = set->child; e; e = e->next) {
      if (!cJSON_IsString(e) || !e->string) continue;
      const char *cur = csb_env_get(envp, e->string);
      if (!cur || strcmp(cur, e->valuestring) != 0) continue; /* changed since: not ours any more */
      const cJSON *o = cJSON_IsObject(orig) ? cJSON_GetObjectItemCaseSensitive(orig, e->string) : NULL;
      change(out, e->string, cJSON_IsString(o) ? o->valuestring : NULL);
    }
  }
  /* variables csb removed (SSL_CERT_DIR) come back */
  if (cJSON_IsObject(orig)) {
    for (const cJSON *e = orig->child; e; e = e->next) {
      if (!cJSON_IsString(e) || !e->string || strcmp(e->string, PX_ENV_STATE_KEY) == 0) continue;
      const cJSON *s = cJSON_IsObject(set) ? cJSON_GetObjectItemCaseSensitive(set, e->string) : NULL;
      if (!s && !csb_env_get(envp, e->string)) change(out, e->string, e->valuestring);
    }
  }
  const cJSON *outer = cJSON_IsObject(orig) ? cJSON_GetObjectItemCaseSensitive(orig, PX_ENV_STATE_KEY) : NULL;
  change(out, PX_ENV_STATE_KEY, cJSON_IsString(outer) ? outer->valuestring : NULL);
  cJSON_Delete(j);
}

void px_env_apply(char **envp, const px_env_changes *ch, csb_strv *out) {
  csb_strv_init(out);
  for (char **e = envp; e && *e; e++) {
    const char *eq = strchr(*e, '=');
    size_t kl = eq ? (size_t)(eq - *e) : strlen(*e);
    int replaced = 0;
    for (size_t i = 0; i < ch->n; i++)
      if (strlen(ch->v[i].key) == kl && strncmp(ch->v[i].key, *e, kl) == 0) replaced = 1;
    if (!replaced) csb_strv_push(out, *e);
  }
  for (size_t i = 0; i < ch->n; i++)
    if (ch->v[i].value) csb_strv_pushf(out, "%s=%s", ch->v[i].key, ch->v[i].value);
}

static int cmp_change(const void *a, const void *b) {
  return strcmp(((const px_env_change *)a)->key, ((const px_env_change *)b)->key);
}

void px_env_print(const px_env_changes *ch, const char *format, csb_buf *out) {
  px_env_change *sorted = csb_xmalloc((ch->n ? ch->n : 1) * sizeof *sorted);
  if (ch->n) memcpy(sorted, ch->v, ch->n * sizeof *sorted);
  qsort(sorted, ch->n, sizeof *sorted, cmp_change);
  if (strcmp(format, "json") == 0) {
    csb_buf_putc(out, '{');
    for (size_t i = 0; i < ch->n; i++) {
      if (i) csb_buf_putc(out, ',');
      csb_buf_put_json_string(out, sorted[i].key, strlen(sorted[i].key));
      csb_buf_putc(out, ':');
      if (sorted[i].value)
        csb_buf_put_json_string(out, sorted[i].value, strlen(sorted[i].value));
      else
        csb_buf_puts(out, "null");
    }
    csb_buf_puts(out, "}\n");
  } else {
    for (size_t i = 0; i < ch->n; i++) {
      if (!sorted[i].value) {
        csb_buf_printf(out, "unset %s\n", sorted[i].key);
        continue;
      }
      csb_buf_printf(out, "export %s='", sorted[i].key);
      for (const char *p = sorted[i].value; *p; p++) {
        if (*p == '\'')
          csb_buf_puts(out, "'\\''");
        else
          csb_buf_putc(out, *p);
      }
      csb_buf_puts(out, "'\n");
    }
  }
  free(sorted);
}

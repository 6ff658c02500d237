/* trust.c - network mode `proxy`: the CA bundles a csb-proxy in front of
 * us made (CSB_NETWORK_PROXY_CA_BUNDLES, `:`-separated), so that the
 * command can verify the proxy's interception certificates even when the
 * policy does not let it read the proxy's CA directory.
 *
 * Each listed path must be absolute and normalised and name a regular file
 * (opened with O_NOFOLLOW, so a final symlink is refused; checked with
 * fstat) of at most 4 MiB holding nothing but PEM CERTIFICATE blocks: no
 * key, no other PEM label, no other text. What was checked is copied into
 * a sealed memfd and that copy is what bubblewrap binds read-only at the
 * same path (--ro-bind-data), so a file swapped after the check is never
 * what the sandbox sees. Anything else fails closed (exit 69). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "csb_bwrap.h"
#include "csb_paths.h"

#define BUNDLE_MAX ((size_t)4 << 20)
#define BUNDLES_MAX 64

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif
#ifndef MFD_ALLOW_SEALING
#define MFD_ALLOW_SEALING 0x0002U
#endif
#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#define F_SEAL_SEAL 0x0001
#define F_SEAL_SHRINK 0x0002
#define F_SEAL_GROW 0x0004
#define F_SEAL_WRITE 0x0008
#endif

static const char BEGIN_CERT[] = "-----BEGIN CERTIFICATE-----";
static const char END_CERT[] = "-----END CERTIFICATE-----";

static int is_blank_char(char c) { return c == ' ' || c == '\t' || c == '\r'; }

static int is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/' || c == '=';
}

/* 1 when line[0..n) is `word` followed only by blanks. */
static int line_is(const char *line, size_t n, const char *word) {
  size_t w = strlen(word);
  if (n < w || memcmp(line, word, w) != 0) return 0;
  for (size_t i = w; i < n; i++)
    if (!is_blank_char(line[i])) return 0;
  return 1;
}

int bw_pem_only_certificates(const char *data, size_t len, const char **why) {
  enum { OUTSIDE, HEADER_SEEN, BODY } state = OUTSIDE;
  size_t certs = 0;
  const char *p = data, *end = data + len;
  if (memchr(data, '\0', len)) {
    *why = "it holds a NUL byte";
    return 0;
  }
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *lend = nl ? nl : end;
    size_t n = (size_t)(lend - p);
    size_t blank = 0;
    while (blank < n && is_blank_char(p[blank])) blank++;
    if (state == OUTSIDE) {
      if (line_is(p, n, BEGIN_CERT)) {
        state = HEADER_SEEN;
      } else if (blank != n) {
        *why = n >= 11 && memcmp(p, "-----BEGIN ", 11) == 0
                   ? (memmem(p, n, "PRIVATE KEY", 11) ? "it holds a private key"
                                                      : "it holds a PEM block other than CERTIFICATE")
                   : "it holds text outside PEM CERTIFICATE blocks";
        return 0;
      }
    } else if (line_is(p, n, END_CERT)) {
      if (state != BODY) {
        *why = "it holds an empty PEM CERTIFICATE block";
        return 0;
      }
      certs++;
      state = OUTSIDE;
    } else {
      size_t k = 0;
      while (k < n && is_base64_char(p[k])) k++;
      while (k < n && is_blank_char(p[k])) k++;
      if (k != n || blank == n) {
        *why = "a PEM CERTIFICATE block holds something other than base64 (headers, keys, text)";
        return 0;
      }
      state = BODY;
    }
    p = nl ? nl + 1 : end;
  }
  if (state != OUTSIDE) {
    *why = "a PEM CERTIFICATE block is not terminated";
    return 0;
  }
  if (certs == 0) {
    *why = "it holds no certificate";
    return 0;
  }
  return 1;
}

int bw_memfd_seal(int fd, const char *data, size_t len) {
  return csb_write_all(fd, data, len) &&
         fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) == 0 &&
         lseek(fd, 0, SEEK_SET) == 0;
}

int bw_sealable_memfd(const char *name) {
  return (int)syscall(SYS_memfd_create, name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
}

int bw_sealed_memfd(const char *name, const char *data, size_t len) {
  int fd = bw_sealable_memfd(name);
  if (fd < 0) return -1;
  if (!bw_memfd_seal(fd, data, len)) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

/* Checks one listed path; on success adds its sealed copy to out. */
static int load_one(const char *path, bw_trust_bundles *out, csb_error *err) {
#define REFUSE(...)                                                                      \
  do {                                                                                   \
    csb_error_set(err, __VA_ARGS__);                                                     \
    goto fail;                                                                           \
  } while (0)
  char *norm = NULL, *data = NULL;
  int fd = -1;
  size_t len = 0;
  if (path[0] != '/') REFUSE("%s: not an absolute path", path);
  norm = csb_path_normalize(path);
  if (strcmp(norm, path) != 0) REFUSE("%s: not a normalised path (it would be bound at %s)", path, norm);
  fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    REFUSE("%s: %s", path,
           errno == ELOOP ? "a symbolic link (only a regular file is bound)" : strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) REFUSE("%s: %s", path, strerror(errno));
  if (!S_ISREG(st.st_mode)) REFUSE("%s: not a regular file", path);
  if ((size_t)st.st_size > BUNDLE_MAX) REFUSE("%s: larger than 4 MiB", path);
  csb_error rerr;
  if (!csb_read_fd(fd, path, BUNDLE_MAX, &data, &len, &rerr)) REFUSE("%s", rerr.msg);
  const char *why = NULL;
  if (!bw_pem_only_certificates(data, len, &why)) REFUSE("%s: %s", path, why);
  int copy = bw_sealed_memfd("csb-ca-bundle", data, len);
  if (copy < 0) REFUSE("%s: cannot make a sealed copy: %s", path, strerror(errno));
  out->paths = csb_xrealloc(out->paths, (out->n + 1) * sizeof *out->paths);
  out->fds = csb_xrealloc(out->fds, (out->n + 1) * sizeof *out->fds);
  out->paths[out->n] = norm;
  out->fds[out->n] = copy;
  out->n++;
  free(data);
  close(fd);
  return 1;
fail:
  free(norm);
  free(data);
  if (fd >= 0) close(fd);
  return 0;
#undef REFUSE
}

int bw_trust_bundles_load(char *const *envp, bw_trust_bundles *out, csb_error *err) {
  memset(out, 0, sizeof *out);
  const char *list = csb_env_get(envp, BW_TRUST_BUNDLES_VAR);
  if (list == NULL || list[0] == '\0') return 1;
  char *copy = csb_xstrdup(list);
  char *save = NULL;
  int ok = 1;
  for (char *p = strtok_r(copy, ":", &save); p && ok; p = strtok_r(NULL, ":", &save)) {
    int seen = 0;
    for (size_t i = 0; i < out->n; i++) seen |= strcmp(out->paths[i], p) == 0;
    if (seen) continue;
    if (out->n == BUNDLES_MAX) {
      ok = csb_error_set(err, "more than %d bundles", BUNDLES_MAX);
      break;
    }
    ok = load_one(p, out, err);
  }
  free(copy);
  if (!ok) {
    csb_error_prefix(err, "%s", BW_TRUST_BUNDLES_VAR);
    bw_trust_bundles_free(out);
  }
  return ok;
}

void bw_trust_bundles_free(bw_trust_bundles *b) {
  if (!b) return;
  for (size_t i = 0; i < b->n; i++) {
    free(b->paths[i]);
    if (b->fds[i] >= 0) close(b->fds[i]);
  }
  free(b->paths);
  free(b->fds);
  memset(b, 0, sizeof *b);
}

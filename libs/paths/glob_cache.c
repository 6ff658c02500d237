/* glob_cache.c - the cache file of glob expansions: identities, the
 * binary format, loading with full validation, atomic storing. See
 * glob_cache.h. POSIX only; Windows builds never call it. */
#define _GNU_SOURCE
#if !defined(_WIN32)
#include "glob_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__linux__)
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#endif

static const char MAGIC[8] = {'C', 'S', 'B', 'G', 'L', 'O', 'B', '1'};
#define SUM_LEN 8

/* The file's checksum: catches truncated and damaged files (the file is
 * trusted for being the user's own, not for its checksum), at a few GB/s. */
static uint64_t checksum(const unsigned char *p, size_t n) {
  uint64_t h = 0x9e3779b97f4a7c15ULL ^ (uint64_t)n;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    h = (h ^ w) * 0xff51afd7ed558ccdULL;
    h ^= h >> 29;
  }
  for (; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

/* ---- identities -------------------------------------------------------------- */

void gc_id_from_stat(const struct stat *st, gc_id *id) {
  memset(id, 0, sizeof *id);
  id->dev = (uint64_t)st->st_dev;
  id->ino = (uint64_t)st->st_ino;
  id->mode = (uint32_t)st->st_mode;
#if defined(__APPLE__)
  id->mtime_s = (int64_t)st->st_mtimespec.tv_sec;
  id->mtime_ns = (uint32_t)st->st_mtimespec.tv_nsec;
  id->ctime_s = (int64_t)st->st_ctimespec.tv_sec;
  id->ctime_ns = (uint32_t)st->st_ctimespec.tv_nsec;
#else
  id->mtime_s = (int64_t)st->st_mtim.tv_sec;
  id->mtime_ns = (uint32_t)st->st_mtim.tv_nsec;
  id->ctime_s = (int64_t)st->st_ctim.tv_sec;
  id->ctime_ns = (uint32_t)st->st_ctim.tv_nsec;
#endif
}

#if defined(__linux__)
/* The kernel's struct statx (Linux 4.11), restated: C libraries older
 * than the call do not declare it. */
#ifndef SYS_statx
#if defined(__x86_64__)
#define SYS_statx 332
#elif defined(__aarch64__)
#define SYS_statx 291
#endif
#endif
typedef struct gc_statx_ts {
  int64_t tv_sec;
  uint32_t tv_nsec;
  int32_t reserved;
} gc_statx_ts;
typedef struct gc_statx {
  uint32_t mask, blksize;
  uint64_t attributes;
  uint32_t nlink, uid, gid;
  uint16_t mode, spare0;
  uint64_t ino, size, blocks, attributes_mask;
  gc_statx_ts atime, btime, ctime, mtime;
  uint32_t rdev_major, rdev_minor, dev_major, dev_minor;
  uint64_t spare[14];
} gc_statx;
#define GC_STATX_BASIC 0x7ffu /* STATX_BASIC_STATS */
#define GC_STATX_ATTR_ENCRYPTED 0x800u
#endif

int gc_dir_id(int dirfd, const char *path, int flags, gc_id *id) {
  memset(id, 0, sizeof *id);
#if defined(__linux__)
#ifdef SYS_statx
  gc_statx sx;
  memset(&sx, 0, sizeof sx);
  /* As fstatat: an automount point is not mounted by looking at it. */
  flags |= path[0] ? AT_NO_AUTOMOUNT : AT_EMPTY_PATH;
  if (syscall(SYS_statx, dirfd, path, flags, GC_STATX_BASIC, &sx) != 0) return -1;
  const uint32_t need = 0x1u | 0x2u | 0x40u | 0x80u | 0x100u; /* type, mode, mtime, ctime, ino */
  if ((sx.mask & need) != need) return -1;
  id->dev = (uint64_t)makedev(sx.dev_major, sx.dev_minor);
  id->ino = sx.ino;
  id->mode = sx.mode;
  id->mtime_s = sx.mtime.tv_sec;
  id->mtime_ns = sx.mtime.tv_nsec;
  id->ctime_s = sx.ctime.tv_sec;
  id->ctime_ns = sx.ctime.tv_nsec;
  return (sx.attributes & GC_STATX_ATTR_ENCRYPTED) ? 0 : 1;
#else
  (void)dirfd;
  (void)path;
  (void)flags;
  return -1;
#endif
#else
  struct stat st;
  if ((path[0] ? fstatat(dirfd, path, &st, flags) : fstat(dirfd, &st)) != 0) return -1;
  gc_id_from_stat(&st, id);
  return 1;
#endif
}

int gc_id_equal(const gc_id *a, const gc_id *b) {
  return a->dev == b->dev && a->ino == b->ino && a->mode == b->mode &&
         a->mtime_s == b->mtime_s && a->mtime_ns == b->mtime_ns && a->ctime_s == b->ctime_s &&
         a->ctime_ns == b->ctime_ns;
}

/* Nanoseconds from (s, ns) to `t`, saturated; negative when in the future. */
static int64_t ns_before(int64_t s, uint32_t ns, const struct timespec *t) {
  int64_t ds = (int64_t)t->tv_sec - s;
  if (ds > 1000) return INT64_MAX;
  if (ds < -1000) return INT64_MIN;
  return ds * 1000000000LL + ((int64_t)t->tv_nsec - (int64_t)ns);
}

/* 1 when `s` is the last second of a file system's range: the kernel
 * stamps every change made once the clock is past it with that second
 * (2038-01-19T03:14:07Z where 32-bit seconds are kept: ext2, ext3, ext4
 * with 128-byte inodes, XFS without bigtime; ext4's and XFS bigtime's
 * wider ranges end in 2446 and 2486). */
static int range_end(int64_t s) {
  return s == 2147483647LL || s == 15032385535LL || s == 16299260424LL;
}

int gc_id_settled(const gc_id *id, const struct timespec *start) {
  return ns_before(id->mtime_s, id->mtime_ns, start) > CSB_GLOB_CACHE_RACY_NS &&
         ns_before(id->ctime_s, id->ctime_ns, start) > CSB_GLOB_CACHE_RACY_NS &&
         !range_end(id->mtime_s) && !range_end(id->ctime_s);
}

int gc_fs_trusted(int fd, const char *path) {
#if defined(__linux__)
  struct statfs sf;
  if ((fd >= 0 ? fstatfs(fd, &sf) : statfs(path, &sf)) != 0) return 0;
  switch ((unsigned long)sf.f_type) {
    case 0xEF53UL:     /* ext2, ext3, ext4 */
    case 0x58465342UL: /* XFS */
    case 0x9123683EUL: /* btrfs */
    case 0x01021994UL: /* tmpfs */
      return 1;
    default:
      return 0;
  }
#else
  (void)fd;
  (void)path;
  return 0;
#endif
}

/* ---- names ------------------------------------------------------------------- */

char *gc_file_name(const char *key, size_t key_len) {
  csb_sha256 s;
  unsigned char d[CSB_SHA256_LEN];
  csb_sha256_init(&s);
  csb_sha256_update(&s, key, key_len);
  csb_sha256_final(&s, d);
  char h[33];
  csb_hex_encode(d, 16, h);
  return csb_xasprintf("glob-%s", h);
}

/* ---- reading ------------------------------------------------------------------ */

typedef struct cur {
  const unsigned char *p, *end;
  int ok;
} cur;

static const unsigned char *take(cur *c, size_t n) {
  if (!c->ok || (size_t)(c->end - c->p) < n) {
    c->ok = 0;
    return NULL;
  }
  const unsigned char *r = c->p;
  c->p += n;
  return r;
}

static uint32_t get_u32(cur *c) {
  const unsigned char *p = take(c, 4);
  uint32_t v = 0;
  if (p) memcpy(&v, p, 4);
  return v;
}

static uint64_t get_u64(cur *c) {
  const unsigned char *p = take(c, 8);
  uint64_t v = 0;
  if (p) memcpy(&v, p, 8);
  return v;
}

/* A directory entry name: not empty, no '/' or NUL, not "." or "..". */
static int valid_name(const unsigned char *s, size_t n) {
  if (n == 0 || n > 4096) return 0;
  if (s[0] == '.' && (n == 1 || (n == 2 && s[1] == '.'))) return 0;
  return memchr(s, '/', n) == NULL && memchr(s, '\0', n) == NULL;
}

/* A relative path of valid names joined by single '/', or "". */
static int valid_rel(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    const unsigned char *e = memchr(s + i, '/', n - i);
    size_t k = e ? (size_t)(e - (s + i)) : n - i;
    if (!valid_name(s + i, k)) return 0;
    i += k;
    if (e) {
      i++;
      if (i == n) return 0; /* trailing '/' */
    }
  }
  return 1;
}

static const unsigned char *get_name(cur *c, size_t *len) {
  uint32_t n = get_u32(c);
  const unsigned char *p = take(c, n);
  if (!p || !valid_name(p, n)) {
    c->ok = 0;
    return NULL;
  }
  *len = n;
  return p;
}

static int rel_less(const char *a, size_t an, const char *b, size_t bn) {
  int r = memcmp(a, b, an < bn ? an : bn);
  return r < 0 || (r == 0 && an < bn);
}

static int parse_record(cur *c, gc_rec *r) {
  memset(r, 0, sizeof *r);
  r->raw = c->p;
  uint32_t rn = get_u32(c);
  const unsigned char *rel = take(c, rn);
  if (!rel || !valid_rel(rel, rn)) return 0;
  r->rel = (const char *)rel;
  r->rel_len = rn;
  r->id.dev = get_u64(c);
  r->id.ino = get_u64(c);
  r->id.mode = get_u32(c);
  r->flags = get_u32(c);
  r->id.mtime_s = (int64_t)get_u64(c);
  r->id.mtime_ns = get_u32(c);
  r->id.ctime_s = (int64_t)get_u64(c);
  r->id.ctime_ns = get_u32(c);
  if (!c->ok || r->id.mtime_ns >= 1000000000u || r->id.ctime_ns >= 1000000000u ||
      !S_ISDIR(r->id.mode))
    return 0;
  r->nmatch = get_u32(c);
  r->matches = c->p;
  for (uint32_t i = 0; i < r->nmatch && c->ok; i++) {
    size_t n;
    (void)take(c, 1);
    (void)get_name(c, &n);
  }
  r->nchild = get_u32(c);
  r->children = c->p;
  for (uint32_t i = 0; i < r->nchild && c->ok; i++) {
    size_t n;
    (void)get_name(c, &n);
  }
  r->raw_len = (size_t)(c->p - r->raw);
  return c->ok;
}

void gc_file_free(gc_file *f) {
  free(f->data);
  free(f->recs);
  memset(f, 0, sizeof *f);
}

int gc_parse(unsigned char *data, size_t len, const char *key, size_t key_len, gc_file *f) {
  memset(f, 0, sizeof *f);
  if (len < sizeof MAGIC + SUM_LEN || memcmp(data, MAGIC, sizeof MAGIC) != 0) return 0;
  uint64_t sum = checksum(data, len - SUM_LEN), want;
  memcpy(&want, data + len - SUM_LEN, SUM_LEN);
  if (sum != want) return 0;
  cur c = {data + sizeof MAGIC, data + len - SUM_LEN, 1};
  uint32_t kn = get_u32(&c);
  const unsigned char *k = take(&c, kn);
  if (!k || kn != key_len || memcmp(k, key, key_len) != 0) return 0;
  uint32_t nrec = get_u32(&c);
  /* Every record takes at least 60 bytes: bounds the allocation. */
  if (!c.ok || nrec > (size_t)(c.end - c.p) / 60 + 1) return 0;
  gc_rec *recs = csb_xcalloc(nrec ? nrec : 1, sizeof *recs);
  for (uint32_t i = 0; i < nrec; i++) {
    if (!parse_record(&c, &recs[i]) ||
        (i > 0 && !rel_less(recs[i - 1].rel, recs[i - 1].rel_len, recs[i].rel, recs[i].rel_len))) {
      free(recs);
      return 0;
    }
  }
  if (!c.ok || c.p != c.end) {
    free(recs);
    return 0;
  }
  f->data = data;
  f->len = len;
  f->recs = recs;
  f->nrec = nrec;
  return 1;
}

int gc_load(const char *dir, const char *key, size_t key_len, gc_file *out) {
  memset(out, 0, sizeof *out);
  char *name = gc_file_name(key, key_len);
  char *path = csb_xasprintf("%s/%s", dir, name);
  free(name);
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  free(path);
  if (fd < 0) return 0;
  struct stat st;
  unsigned char *data = NULL;
  size_t got = 0;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
      !(st.st_mode & 022) && st.st_size > 0 && (size_t)st.st_size <= CSB_GLOB_CACHE_MAX_BYTES) {
    size_t want = (size_t)st.st_size;
    data = csb_xmalloc(want + 1);
    while (got < want) {
      ssize_t n = read(fd, data + got, want - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += (size_t)n;
    }
    if (got != want) got = 0;
  }
  close(fd);
  if (!data || got == 0 || !gc_parse(data, got, key, key_len, out)) {
    free(data);
    return 0;
  }
  return 1;
}

const gc_rec *gc_find(const gc_file *f, const char *rel, size_t rel_len) {
  size_t lo = 0, hi = f->nrec;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const gc_rec *r = &f->recs[mid];
    if (rel_less(r->rel, r->rel_len, rel, rel_len))
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo < f->nrec && f->recs[lo].rel_len == rel_len &&
      memcmp(f->recs[lo].rel, rel, rel_len) == 0)
    return &f->recs[lo];
  return NULL;
}

/* The lists were checked by gc_parse: no bounds checks here. */
const char *gc_next_match(const unsigned char **p, size_t *len, unsigned char *type) {
  uint32_t n;
  *type = **p;
  memcpy(&n, *p + 1, 4);
  const char *name = (const char *)(*p + 5);
  *len = n;
  *p += 5 + n;
  return name;
}

const char *gc_next_child(const unsigned char **p, size_t *len) {
  uint32_t n;
  memcpy(&n, *p, 4);
  const char *name = (const char *)(*p + 4);
  *len = n;
  *p += 4 + n;
  return name;
}

/* ---- writing ------------------------------------------------------------------ */

static void put_u32(csb_buf *b, uint32_t v) { csb_buf_append(b, &v, 4); }
static void put_u64(csb_buf *b, uint64_t v) { csb_buf_append(b, &v, 8); }

void gc_put_record(csb_buf *b, const char *rel, size_t rel_len, const gc_id *id, uint32_t flags,
                   const char *const *matches, const size_t *match_lens,
                   const unsigned char *types, size_t nmatch, const char *const *children,
                   const size_t *child_lens, size_t nchild) {
  put_u32(b, (uint32_t)rel_len);
  csb_buf_append(b, rel, rel_len);
  put_u64(b, id->dev);
  put_u64(b, id->ino);
  put_u32(b, id->mode);
  put_u32(b, flags);
  put_u64(b, (uint64_t)id->mtime_s);
  put_u32(b, id->mtime_ns);
  put_u64(b, (uint64_t)id->ctime_s);
  put_u32(b, id->ctime_ns);
  put_u32(b, (uint32_t)nmatch);
  for (size_t i = 0; i < nmatch; i++) {
    csb_buf_putc(b, (char)types[i]);
    put_u32(b, (uint32_t)match_lens[i]);
    csb_buf_append(b, matches[i], match_lens[i]);
  }
  put_u32(b, (uint32_t)nchild);
  for (size_t i = 0; i < nchild; i++) {
    put_u32(b, (uint32_t)child_lens[i]);
    csb_buf_append(b, children[i], child_lens[i]);
  }
}

static int cmp_slice(const void *a, const void *b) {
  const gc_slice *x = a, *y = b;
  if (rel_less(x->rel, x->rel_len, y->rel, y->rel_len)) return -1;
  if (rel_less(y->rel, y->rel_len, x->rel, x->rel_len)) return 1;
  return 0;
}

void gc_seal(unsigned char *data, size_t len) {
  uint64_t sum = checksum(data, len - SUM_LEN);
  memcpy(data + len - SUM_LEN, &sum, SUM_LEN);
}

void gc_encode(const char *key, size_t key_len, gc_slice *recs, size_t n, csb_buf *out) {
  qsort(recs, n, sizeof *recs, cmp_slice);
  csb_buf b;
  csb_buf_init(&b);
  csb_buf_append(&b, MAGIC, sizeof MAGIC);
  put_u32(&b, (uint32_t)key_len);
  csb_buf_append(&b, key, key_len);
  size_t count_at = b.len;
  put_u32(&b, 0);
  uint32_t count = 0;
  for (size_t i = 0; i < n; i++) {
    if (i > 0 && cmp_slice(&recs[i - 1], &recs[i]) == 0) continue;
    csb_buf_append(&b, recs[i].raw, recs[i].raw_len);
    count++;
  }
  memcpy(b.data + count_at, &count, 4);
  put_u64(&b, 0);
  gc_seal((unsigned char *)b.data, b.len);
  *out = b;
}

int gc_store(const char *dir, const char *key, size_t key_len, gc_slice *recs, size_t n) {
  csb_buf b;
  gc_encode(key, key_len, recs, n, &b);
  int ok = 0;
  if (b.len <= CSB_GLOB_CACHE_MAX_BYTES) {
    char *name = gc_file_name(key, key_len);
    char *path = csb_xasprintf("%s/%s", dir, name);
    char *tmp = csb_xasprintf("%s/.%s.XXXXXX", dir, name);
    free(name);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd >= 0) {
      ok = fchmod(fd, 0600) == 0 && csb_write_all(fd, b.data, b.len);
      if (close(fd) != 0) ok = 0;
      if (ok && rename(tmp, path) != 0) ok = 0;
      if (!ok) unlink(tmp);
    }
    free(tmp);
    free(path);
  }
  csb_buf_free(&b);
  return ok;
}

#endif /* !_WIN32 */

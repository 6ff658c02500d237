/* bwrap_find.c - choosing the bubblewrap binary.
 *
 * Order: --bwrap PATH; the first `bwrap` on PATH that is not inside the
 * working directory (a repository cannot plant its own), that the
 * policy's sandbox could not have put there (see planted_by_command) and
 * that supports the flags we need; the bundled ../libexec/csb/bwrap next to our own binary,
 * whose SHA-256 must equal the digest baked in at build time and which is
 * executed through the very descriptor that was hashed. Otherwise fail
 * closed with a diagnosis.
 *
 * Feature detection reads the option names out of the binary (bubblewrap
 * embeds its --help text) in one pass over small pieces, which costs no
 * process; a file that does not look like an ELF binary (a wrapper
 * script) is asked `--help` instead.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "csb_bwrap.h"
#include "csb_paths.h"
#include "csb_proc.h"

#if defined(__has_include)
#if __has_include("bundled_bwrap_sha256.h")
#include "bundled_bwrap_sha256.h"
#endif
#endif
#ifndef CSB_BUNDLED_BWRAP_SHA256
#define CSB_BUNDLED_BWRAP_SHA256 ""
#endif

int bw_sha256_fd(int fd, char hex[65], csb_error *err) {
  csb_sha256 s;
  csb_sha256_init(&s);
  unsigned char buf[65536];
  off_t off = 0;
  for (;;) {
    ssize_t r = pread(fd, buf, sizeof buf, off);
    if (r < 0) {
      if (errno == EINTR) continue;
      return csb_error_set(err, "read: %s", strerror(errno));
    }
    if (r == 0) break;
    csb_sha256_update(&s, buf, (size_t)r);
    off += r;
  }
  unsigned char digest[CSB_SHA256_LEN];
  csb_sha256_final(&s, digest);
  csb_hex_encode(digest, sizeof digest, hex);
  return 1;
}

/* ---- feature detection ---------------------------------------------------- */

/* Longer than every option name below, with its terminator. */
#define FEATURE_WORD_MAX 24

static int *feature_flag(bw_bwrap *b, size_t i) {
  int *flags[] = {&b->has_argv0, &b->has_ro_bind_fd, &b->has_disable_userns,
                  &b->has_perms, &b->has_as_pid_1,   &b->has_info_fd, &b->has_args};
  return flags[i];
}
static const struct {
  const char *name;
  size_t len;
} features[] = {
#define FEATURE(s) {s, sizeof s - 1}
    FEATURE("--argv0"),  FEATURE("--ro-bind-fd"), FEATURE("--disable-userns"), FEATURE("--perms"),
    FEATURE("--as-pid-1"), FEATURE("--info-fd"),  FEATURE("--args"),
#undef FEATURE
};

/* The offset of the first "--" in text[i, n), or n. A binary holds some
 * 70 KiB and few pairs of dashes: 16 bytes are looked at at a time. */
static size_t next_dashes(const char *text, size_t i, size_t n) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  typedef unsigned char v16 __attribute__((vector_size(16)));
  while (i + 17 <= n) {
    v16 a, b;
    memcpy(&a, text + i, 16);
    memcpy(&b, text + i + 1, 16);
    v16 pair = (v16)((a == '-') & (b == '-'));
    uint64_t w[2];
    memcpy(w, &pair, sizeof w);
    if (w[0]) return i + (size_t)__builtin_ctzll(w[0]) / 8;
    if (w[1]) return i + 8 + (size_t)__builtin_ctzll(w[1]) / 8;
    i += 16;
  }
#endif
  for (; i + 1 < n; i++)
    if (text[i] == '-' && text[i + 1] == '-') return i;
  return n;
}

/* Sets the flags of the option names in `text`, in one pass. A name
 * counts when an option terminator follows it ("--perms" is no match in
 * "--permsx"): a space, NUL, '=', tab or newline. `text` may be a piece
 * of a larger text: unless it is the last piece (`last`), a name running
 * into its end does not count (the next piece starts early enough to see
 * it whole). */
static void parse_features(const char *text, size_t n, int last, bw_bwrap *b) {
  for (size_t i = next_dashes(text, 0, n); i < n; i = next_dashes(text, i + 1, n)) {
    for (size_t k = 0; k < CSB_ARRAY_LEN(features); k++) {
      size_t wl = features[k].len;
      if (n - i < wl || text[i + 2] != features[k].name[2] || memcmp(text + i, features[k].name, wl) != 0)
        continue;
      size_t after = i + wl;
      if (after >= n ? last
                     : (text[after] == ' ' || text[after] == 0 || text[after] == '\n' ||
                        text[after] == '\t' || text[after] == '='))
        *feature_flag(b, k) = 1;
    }
  }
}

void bw_bwrap_parse_help(const char *help, bw_bwrap *b) { parse_features(help, strlen(help), 1, b); }

static int probe_help(const char *exec_path, bw_bwrap *b) {
  char *const argv[] = {(char *)"bwrap", (char *)"--help", NULL};
  pid_t pid;
  int fd;
  if (!csb_proc_spawn_output(exec_path, argv, &pid, &fd)) return 0;
  char *text = NULL;
  size_t len = 0;
  csb_error e;
  int ok = csb_read_fd(fd, "bwrap --help", 1 << 20, &text, &len, &e);
  close(fd);
  csb_proc_wait(pid, NULL);
  if (!ok) return 0;
  parse_features(text, len, 1, b);
  free(text);
  return 1;
}

static int all_features(bw_bwrap *b) {
  for (size_t k = 0; k < CSB_ARRAY_LEN(features); k++)
    if (!*feature_flag(b, k)) return 0;
  return 1;
}

/* Scans file[from, to) for the option names in pieces read into a buffer
 * on the stack (each piece starts with the end of the previous one, so no
 * name is missed at a boundary), until every name was seen. 0 when the
 * file cannot be read. */
static int scan_range(int fd, off_t from, off_t to, bw_bwrap *b) {
  char buf[8192];
  size_t carry = 0;
  off_t off = from;
  while (off < to && !all_features(b)) {
    size_t want = sizeof buf - carry;
    if ((off_t)want > to - off) want = (size_t)(to - off);
    ssize_t r = pread(fd, buf + carry, want, off);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return 0;
    off += r;
    size_t n = carry + (size_t)r;
    parse_features(buf, n, off >= to, b);
    carry = n < FEATURE_WORD_MAX ? n : FEATURE_WORD_MAX;
    memmove(buf, buf + n - carry, carry);
  }
  return 1;
}

typedef struct file_range {
  off_t from, to;
} file_range;

#define MAX_SEGMENTS 16

/* The parts of the file that an ELF64 executable of this machine's byte
 * order loads without execute permission (.rodata, where the --help text
 * is, among them), sorted; 0 when its headers describe none that fit the
 * file. */
static size_t data_segments(int fd, off_t size, file_range *out) {
  Elf64_Ehdr eh;
  if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_ident[EI_DATA] != (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB) ||
      eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > MAX_SEGMENTS ||
      eh.e_phoff >= (uint64_t)size)
    return 0;
  Elf64_Phdr ph[MAX_SEGMENTS];
  ssize_t want = (ssize_t)(eh.e_phnum * sizeof *ph);
  if (pread(fd, ph, (size_t)want, (off_t)eh.e_phoff) != want) return 0;
  size_t n = 0;
  for (size_t i = 0; i < eh.e_phnum; i++) {
    if (ph[i].p_type != PT_LOAD || (ph[i].p_flags & PF_X) || ph[i].p_filesz == 0 ||
        ph[i].p_offset >= (uint64_t)size)
      continue;
    off_t from = (off_t)ph[i].p_offset;
    off_t to = ph[i].p_filesz > (uint64_t)(size - from) ? size : from + (off_t)ph[i].p_filesz;
    size_t k = n++;
    for (; k > 0 && out[k - 1].from > from; k--) out[k] = out[k - 1];
    out[k] = (file_range){from, to};
  }
  return n;
}

int bw_bwrap_scan_binary(int fd, off_t size, bw_bwrap *b) {
  char magic[4];
  if (size < 4 || pread(fd, magic, sizeof magic, 0) != (ssize_t)sizeof magic || memcmp(magic, "\177ELF", 4) != 0)
    return 0;
  /* The option names are string constants: the segments without code
   * hold them, some 40% of bubblewrap's 70 KiB. Where they do not show
   * the two options every usable bubblewrap has (old linkers put
   * constants in the code's segment), the whole file is read. */
  file_range seg[MAX_SEGMENTS];
  size_t n = data_segments(fd, size, seg);
  for (size_t i = 0; i < n; i++)
    if (!scan_range(fd, seg[i].from, seg[i].to, b)) return 0;
  if (n && b->has_perms && b->has_as_pid_1) return 1;
  return scan_range(fd, 0, size, b);
}

static int detect_features(int fd, const char *exec_path, bw_bwrap *b) {
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 4) return 0;
  if (st.st_size <= (64 << 20) && bw_bwrap_scan_binary(fd, st.st_size, b) && b->has_perms && b->has_as_pid_1)
    return 1;
  return probe_help(exec_path, b);
}

static int usable(const bw_bwrap *b) { return b->has_perms && b->has_as_pid_1; }

static int try_candidate(const char *path, const char *source, bw_bwrap *out, csb_error *why) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return csb_error_set(why, "%s: %s", path, strerror(errno));
  bw_bwrap b;
  memset(&b, 0, sizeof b);
  b.exec_fd = -1;
  int ok = detect_features(fd, path, &b);
  close(fd);
  if (!ok) return csb_error_set(why, "%s: cannot inspect it", path);
  if (!usable(&b))
    return csb_error_set(why, "%s lacks %s (bubblewrap 0.5 or newer is needed)", path,
                         !b.has_perms ? "--perms" : "--as-pid-1");
  b.path = csb_xstrdup(path);
  b.exec_path = csb_xstrdup(path);
  b.source = source;
  *out = b;
  return 1;
}

static char *self_dir(void) {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return NULL;
  buf[n] = 0;
  return csb_path_parent(buf);
}

static int try_bundled(bw_bwrap *out, csb_error *why, char **tried) {
  char *dir = self_dir();
  if (!dir) return csb_error_set(why, "cannot locate our own binary");
  char *path = csb_path_join(dir, "../libexec/csb/bwrap");
  free(dir);
  *tried = csb_xstrdup(path);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    csb_error_set(why, "no bundled bubblewrap at %s", path);
    free(path);
    return 0;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111)) {
    csb_error_set(why, "bundled bubblewrap %s is not an executable file", path);
    goto fail;
  }
  const char *want = CSB_BUNDLED_BWRAP_SHA256;
  if (want[0] == 0) {
    csb_error_set(why, "bundled bubblewrap %s found, but this csb-bwrap was built without its "
                       "digest, so it is not trusted", path);
    goto fail;
  }
  char got[65];
  if (!bw_sha256_fd(fd, got, why)) goto fail;
  if (strcmp(got, want) != 0) {
    csb_error_set(why, "bundled bubblewrap digest mismatch for %s: expected sha256:%s, got sha256:%s",
                  path, want, got);
    goto fail;
  }
  bw_bwrap b;
  memset(&b, 0, sizeof b);
  /* Executed through this descriptor: the hashed inode is the one run.
   * It must survive our exec of it, so no O_CLOEXEC... but bwrap itself
   * must not keep it: bubblewrap closes unknown fds only for the sandbox,
   * so we mark it close-on-exec and exec it via /proc/self/fd, which the
   * kernel resolves before closing descriptors. */
  b.exec_fd = fd;
  b.exec_path = csb_xasprintf("/proc/self/fd/%d", fd);
  b.path = path;
  b.source = "bundled";
  detect_features(fd, b.exec_path, &b);
  if (!usable(&b)) {
    free(b.exec_path);
    csb_error_set(why, "bundled bubblewrap %s lacks --perms/--as-pid-1", path);
    path = NULL;
    free(b.path);
    goto fail;
  }
  *out = b;
  return 1;
fail:
  free(path);
  close(fd);
  return 0;
}

/* Whether the caller's permissions, which the sandboxed command shares
 * (same user and groups; run by root, the owner's rights without
 * capabilities), let it change `path`: write the file, or add, remove and
 * rename entries of the directory (as its owner it could chmod it). */
static int caller_may_change(const char *path, int is_dir) {
  struct stat st;
  return (lstat(path, &st) == 0 && st.st_uid == geteuid()) ||
         faccessat(AT_FDCWD, path, is_dir ? W_OK | X_OK : W_OK, AT_EACCESS) == 0;
}

/* The first component of the absolute `path` (itself included, "/"
 * excluded) that the sandboxed command could replace, or NULL: the policy
 * lets it write both the component (no read-only carve-out or protected
 * name, which are mounts that cannot be renamed) and the directory
 * holding it, and the caller's permissions let it change that directory;
 * or `path` is a file it may write and the caller's permissions let it
 * rewrite. A run under the policy could then have put another file there
 * (a bwrap csb-bwrap would run unconfined), or a symlink on the way to
 * one. */
static char *command_could_replace(csb_policy_evaluator *ev, const char *path) {
  char *n = csb_path_normalize(path);
  csb_verdict v;
  csb_policy_evaluator_access_for(ev, "/", &v);
  int parent_writable = v.can_write;
  char *hit = NULL;
  for (char *end = n + 1; *end && !hit;) {
    char *slash = strchr(end, '/');
    if (slash) *slash = 0;
    csb_policy_evaluator_access_for(ev, n, &v);
    if (v.can_write) {
      char *par = csb_path_parent(n);
      if ((parent_writable && par && caller_may_change(par, 1)) || (!slash && caller_may_change(n, 0)))
        hit = csb_xstrdup(n);
      free(par);
    }
    parent_writable = v.can_write;
    if (!slash) break;
    *slash = '/';
    end = slash + 1;
  }
  free(n);
  return hit;
}

/* Where a sandbox under policy `p` could have planted the candidate
 * `cand` (its path as PATH spells it), or NULL: the candidate as
 * spelled, each symlink followed on the way to it, and the file it
 * leads to are all out of the command's reach. Skipping such a candidate
 * protects something only while csb-bwrap's own binary is out of that
 * reach too: where the command could replace it (full disk write; a
 * writable `/` run by root, who owns /usr), it could replace the next
 * run's launcher as well, and every candidate is taken as it is.
 * `*self` caches that answer (-1: not asked yet). */
static char *planted_by_command(const csb_policy *p, csb_policy_evaluator **ev, int *self, const char *cand,
                                const char *canon) {
  if (!p || csb_policy_full_disk_write(p) || *self == 1) return NULL;
  if (!*ev) *ev = csb_policy_evaluator_new(p);
  char *hit = command_could_replace(*ev, cand);
  if (!hit) hit = command_could_replace(*ev, canon);
  char *resolved = NULL;
  csb_path_link *links = NULL;
  size_t n_links = 0;
  if (!hit && csb_path_resolve_links(cand, &resolved, &links, &n_links, NULL)) {
    for (size_t i = 0; !hit && i < n_links; i++) hit = command_could_replace(*ev, links[i].path);
    csb_path_links_free(links, n_links);
    free(resolved);
  }
  if (hit && *self < 0) {
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *own = NULL;
    if (n > 0) {
      exe[n] = 0;
      own = command_could_replace(*ev, exe);
    }
    *self = own != NULL;
    free(own);
  }
  if (hit && *self == 1) {
    free(hit);
    hit = NULL;
  }
  return hit;
}

int bw_bwrap_find(const char *override, const char *cwd, const csb_policy *p, bw_bwrap *out,
                  csb_error *err) {
  memset(out, 0, sizeof *out);
  out->exec_fd = -1;
  csb_error why;
  csb_error_clear(&why);
  if (override) {
    char *canon = NULL;
    if (!csb_path_canonicalize(override, &canon, &why))
      return csb_error_set(err, "--bwrap %s: %s", override, why.msg);
    int ok = try_candidate(canon, "--bwrap", out, &why);
    free(canon);
    if (!ok) return csb_error_set(err, "--bwrap %s is not usable: %s", override, why.msg);
    return 1;
  }
  csb_buf notes;
  csb_buf_init(&notes);
  const char *path_env = getenv("PATH");
  csb_strv seen; /* candidates looked at: a directory PATH names twice is looked at once */
  csb_strv_init(&seen);
  csb_policy_evaluator *ev = NULL; /* made for the first candidate that exists */
  int self_replaceable = -1;
  if (path_env && *path_env) {
    char *copy = csb_xstrdup(path_env);
    char *save = NULL;
    for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
      char *dir = d[0] == '/' ? csb_xstrdup(d) : csb_path_join(cwd, d);
      char *cand = csb_path_join(dir, "bwrap");
      free(dir);
      int again = csb_strv_contains(&seen, cand);
      if (!again) csb_strv_push(&seen, cand);
      if (again || access(cand, X_OK) != 0) {
        free(cand);
        continue;
      }
      char *canon = NULL;
      csb_error e;
      if (!csb_path_canonicalize(cand, &canon, &e)) {
        free(cand);
        continue;
      }
      if (strcmp(cwd, "/") != 0 && csb_path_is_under(cwd, canon)) {
        csb_buf_printf(&notes, "; skipped %s (inside the working directory)", cand);
        free(canon);
        free(cand);
        continue;
      }
      char *planted = planted_by_command(p, &ev, &self_replaceable, cand, canon);
      if (planted) {
        csb_buf_printf(&notes, "; skipped %s (the sandboxed command could replace %s: a run under this "
                               "policy could have put it there)", cand, planted);
        free(planted);
        free(canon);
        free(cand);
        continue;
      }
      csb_error_clear(&why);
      if (try_candidate(canon, "PATH", out, &why)) {
        free(canon);
        free(cand);
        free(copy);
        csb_strv_free(&seen);
        csb_buf_free(&notes);
        if (ev) csb_policy_evaluator_free(ev);
        return 1;
      }
      csb_buf_printf(&notes, "; skipped %s", why.msg);
      free(canon);
      free(cand);
    }
    free(copy);
  }
  csb_strv_free(&seen);
  if (ev) csb_policy_evaluator_free(ev);
  char *tried = NULL;
  csb_error_clear(&why);
  if (try_bundled(out, &why, &tried)) {
    free(tried);
    csb_buf_free(&notes);
    return 1;
  }
  csb_error_set(err,
                "bubblewrap is unavailable: no usable bwrap on PATH%s; %s. Install bubblewrap "
                "(e.g. apt install bubblewrap), or pass --bwrap PATH",
                notes.data ? notes.data : "", why.msg);
  free(tried);
  csb_buf_free(&notes);
  return 0;
}

void bw_bwrap_free(bw_bwrap *b) {
  if (!b) return;
  free(b->path);
  free(b->exec_path);
  free(b->version);
  if (b->exec_fd >= 0) close(b->exec_fd);
  memset(b, 0, sizeof *b);
  b->exec_fd = -1;
}

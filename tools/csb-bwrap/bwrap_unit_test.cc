// Unit tests for csb-bwrap's pure parts: the filesystem argv builder on
// hand-built views, bwrap feature detection, proxy route planning, the
// proxy's CA bundles, Unix socket rules, SHA-256, bubblewrap error
// classification and the launcher's report of a bubblewrap it cannot run.
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "csb_bwrap.h"
#include "csb_cli.h"

namespace {

std::vector<std::string> Argv(const bw_fsargs &f) {
  std::vector<std::string> v;
  for (size_t i = 0; i < f.argv.len; i++) v.push_back(f.argv.items[i]);
  return v;
}

// Index of the first occurrence of `seq` as a contiguous run, or -1.
long Find(const std::vector<std::string> &v, const std::vector<std::string> &seq) {
  for (size_t i = 0; i + seq.size() <= v.size(); i++) {
    bool ok = true;
    for (size_t k = 0; k < seq.size() && ok; k++) ok = v[i + k] == seq[k];
    if (ok) return (long)i;
  }
  return -1;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/csb-bwrap-unit-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::string cmd = "rm -rf '" + path_ + "'"; (void)!system(cmd.c_str()); }
  std::string Sub(const std::string &rel) const { return path_ + "/" + rel; }
  const std::string &path() const { return path_; }

 private:
  std::string path_;
};

struct View {
  csb_policy_view v{};
  View() {}
  ~View() {
    csb_strv_free(&v.readable_roots);
    csb_strv_free(&v.platform_read_roots);
    for (size_t i = 0; i < v.n_readable_links; i++) {
      free(v.readable_links[i].path);
      free(v.readable_links[i].target);
      free(v.readable_links[i].root);
    }
    free(v.readable_links);
    csb_strv_free(&v.unreadable_roots);
    csb_strv_free(&v.unreadable_globs);
    for (size_t i = 0; i < v.n_writable; i++) {
      free(v.writable[i].root);
      csb_strv_free(&v.writable[i].read_only_subpaths);
      csb_strv_free(&v.writable[i].protected_names);
    }
    free(v.writable);
  }
  void AddLink(const std::string &path, const std::string &target, const std::string &root) {
    v.readable_links = (csb_view_link *)realloc(v.readable_links, (v.n_readable_links + 1) * sizeof *v.readable_links);
    csb_view_link *l = &v.readable_links[v.n_readable_links++];
    l->path = strdup(path.c_str());
    l->target = strdup(target.c_str());
    l->root = strdup(root.c_str());
  }
  csb_writable_root *AddWritable(const std::string &root) {
    v.writable = (csb_writable_root *)realloc(v.writable, (v.n_writable + 1) * sizeof *v.writable);
    csb_writable_root *w = &v.writable[v.n_writable++];
    memset(w, 0, sizeof *w);
    w->root = strdup(root.c_str());
    return w;
  }
};

bw_mount_opts Opts() {
  bw_mount_opts o;
  memset(&o, 0, sizeof o);
  o.mount_proc = 1;
  o.has_perms = 1;
  o.fake_data_fd = 99;
  return o;
}

// bw_mounts_build of a view for a policy, which it takes over: both the
// policy and what was built are freed with it.
struct Built {
  csb_policy *p;
  bw_fsargs f{};
  csb_error e{};
  bool ok;
  std::vector<std::string> a;  // the filesystem argv (empty on failure)
  Built(csb_policy *policy, const View &view, const bw_mount_opts &o) : p(policy) {
    csb_error_clear(&e);
    ok = bw_mounts_build(p, &view.v, &o, &f, &e) != 0;
    if (ok) a = Argv(f);
  }
  Built(const Built &) = delete;
  Built &operator=(const Built &) = delete;
  ~Built() {
    bw_fsargs_free(&f);
    csb_policy_free(p);
  }
};

// The view of a full-read policy with the writable root `ws`: ws/.git
// read-only, .agents and .codex protected, `deny` unreadable.
void WorkspaceView(View &view, const std::string &ws, const std::string &deny) {
  view.v.full_read = 1;
  csb_writable_root *w = view.AddWritable(ws);
  csb_strv_push(&w->read_only_subpaths, (ws + "/.git").c_str());
  for (const char *n : {".agents", ".codex"}) csb_strv_push(&w->protected_names, n);
  csb_strv_push(&view.v.unreadable_roots, deny.c_str());
}

TEST(Mounts, WorkspaceOrderAndMasks) {
  TempDir t;
  std::string ws = t.Sub("ws");
  mkdir(ws.c_str(), 0755);
  mkdir((ws + "/.git").c_str(), 0755);
  mkdir((ws + "/secret").c_str(), 0755);
  csb_policy *p = csb_policy_new(CSB_PLATFORM_LINUX, ws.c_str());
  csb_policy_add_entry(p, "/", CSB_ACCESS_READ, ":root", 0, 0);
  csb_policy_add_entry(p, ws.c_str(), CSB_ACCESS_WRITE, "ws", 0, 0);
  View view;
  WorkspaceView(view, ws, ws + "/secret");
  Built b(p, view, Opts());
  ASSERT_TRUE(b.ok) << b.e.msg;
  const auto &a = b.a;
  const bw_fsargs &f = b.f;
  long base = Find(a, {"--ro-bind", "/", "/"});
  long dev = Find(a, {"--dev", "/dev"});
  long bind = Find(a, {"--bind", ws, ws});
  long git = Find(a, {"--ro-bind", ws + "/.git", ws + "/.git"});
  long codex = Find(a, {"--perms", "0555", "--tmpfs", ws + "/.codex"});
  long deny = Find(a, {"--perms", "0000", "--tmpfs", ws + "/secret"});
  long remount = Find(a, {"--remount-ro", ws + "/secret"});
  EXPECT_EQ(base, 0);
  EXPECT_GT(dev, base);
  EXPECT_GT(bind, dev);
  EXPECT_GT(git, bind);
  EXPECT_GT(codex, bind);
  EXPECT_GT(deny, bind);
  EXPECT_GT(remount, deny);
  EXPECT_GE(Find(a, {"--ro-bind", "/proc/sys", "/proc/sys"}), 0);
  // missing .agents and .codex are host mount targets; the existing (empty)
  // .git is only tracked as possibly shared with a concurrent run
  size_t created = 0, shared = 0;
  for (size_t i = 0; i < f.n_synth; i++) {
    EXPECT_EQ(f.synth[i].kind, BW_SYNTH_DIR);
    if (f.synth[i].existing) shared++;
    else created++;
  }
  EXPECT_EQ(created, 2u);
  EXPECT_EQ(shared, 1u);
  // masks inside the writable root are re-checked by the inner stage
  bool verify_git = false;
  for (size_t i = 0; i < f.verify.len; i++) verify_git |= std::string(f.verify.items[i]) == ws + "/.git";
  EXPECT_TRUE(verify_git);
}

// The caller's memo (bw_mount_opts.memo) changes nothing in the plan; it
// is a snapshot: what it recorded stays its answer, so a build after the
// tree changed needs a new one.
TEST(Mounts, CallersMemoGivesTheSamePlanAndIsASnapshot) {
  TempDir t;
  std::string ws = t.Sub("ws");
  mkdir(ws.c_str(), 0755);
  mkdir((ws + "/.git").c_str(), 0755);
  auto policy = [&] {
    csb_policy *p = csb_policy_new(CSB_PLATFORM_LINUX, ws.c_str());
    csb_policy_add_entry(p, "/", CSB_ACCESS_READ, ":root", 0, 0);
    csb_policy_add_entry(p, ws.c_str(), CSB_ACCESS_WRITE, "ws", 0, 0);
    csb_policy_add_entry(p, (ws + "/gone/x").c_str(), CSB_ACCESS_DENY, "deny", 0, 0);
    return p;
  };
  View view;
  WorkspaceView(view, ws, ws + "/gone/x");
  auto explain = [](const Built &b) {
    std::vector<std::string> v;
    for (size_t i = 0; i < b.f.explain.len; i++) v.push_back(b.f.explain.items[i]);
    return v;
  };
  bw_mount_opts o = Opts();
  Built plain(policy(), view, o);
  ASSERT_TRUE(plain.ok) << plain.e.msg;
  o.memo = csb_path_memo_new();
  {
    Built shared(policy(), view, o);
    ASSERT_TRUE(shared.ok) << shared.e.msg;
    EXPECT_EQ(shared.a, plain.a);
    EXPECT_EQ(explain(shared), explain(plain));
    EXPECT_EQ(shared.f.n_synth, plain.f.n_synth);
  }
  struct stat st;
  EXPECT_FALSE(csb_path_lstat_memo(o.memo, (ws + "/.agents").c_str(), &st)) << "recorded: missing";
  mkdir((ws + "/.agents").c_str(), 0755);
  {
    Built again(policy(), view, o);
    ASSERT_TRUE(again.ok) << again.e.msg;
    EXPECT_EQ(again.a, plain.a) << "the memo's snapshot still has no .agents";
  }
  csb_path_memo_free(o.memo);
  o.memo = nullptr;
  Built fresh(policy(), view, o);
  ASSERT_TRUE(fresh.ok) << fresh.e.msg;
  EXPECT_NE(fresh.a, plain.a);
  EXPECT_GE(Find(fresh.a, {"--ro-bind", ws + "/.agents", ws + "/.agents"}), 0);
}

TEST(Mounts, SysStaysReadOnlyBelowAWritableRoot) {
  TempDir t;
  csb_policy *p = csb_policy_new(CSB_PLATFORM_LINUX, t.path().c_str());
  csb_policy_add_entry(p, "/", CSB_ACCESS_WRITE, ":root", 0, 0);
  View view;
  view.v.full_read = 1;
  view.v.full_write = 1;
  Built b(p, view, Opts());
  ASSERT_TRUE(b.ok) << b.e.msg;
  long base = Find(b.a, {"--bind", "/", "/"});
  long sys = Find(b.a, {"--ro-bind", "/sys", "/sys"});
  EXPECT_EQ(base, 0);
  EXPECT_GT(sys, base);

  // a read-only root shows /sys read-only already: no mount of its own
  p = csb_policy_new(CSB_PLATFORM_LINUX, t.path().c_str());
  csb_policy_add_entry(p, "/", CSB_ACCESS_READ, ":root", 0, 0);
  View ro;
  ro.v.full_read = 1;
  Built r(p, ro, Opts());
  ASSERT_TRUE(r.ok) << r.e.msg;
  EXPECT_EQ(Find(r.a, {"--ro-bind", "/sys", "/sys"}), -1);
}

TEST(Mounts, WritableChildUnderDeniedParentGetsTraverseOnlyTmpfs) {
  TempDir t;
  std::string ws = t.Sub("ws");
  for (const char *d : {"ws", "ws/blocked", "ws/blocked/allowed"}) mkdir(t.Sub(d).c_str(), 0755);
  csb_policy *p = csb_policy_new(CSB_PLATFORM_LINUX, ws.c_str());
  View view;
  view.v.full_read = 1;
  view.AddWritable(ws);
  view.AddWritable(ws + "/blocked/allowed");
  csb_strv_push(&view.v.unreadable_roots, (ws + "/blocked").c_str());
  Built b(p, view, Opts());
  ASSERT_TRUE(b.ok) << b.e.msg;
  const auto &a = b.a;
  long deny = Find(a, {"--perms", "0111", "--tmpfs", ws + "/blocked"});
  long child = Find(a, {"--bind", ws + "/blocked/allowed", ws + "/blocked/allowed"});
  long remount = Find(a, {"--remount-ro", ws + "/blocked"});
  ASSERT_GE(deny, 0);
  EXPECT_GT(child, deny);
  EXPECT_GT(remount, child);
}

TEST(Mounts, MissingDenyInWritableRootIsAnUnreadableFile) {
  TempDir t;
  std::string ws = t.Sub("ws");
  mkdir(ws.c_str(), 0755);
  csb_policy *p = csb_policy_new(CSB_PLATFORM_LINUX, ws.c_str());
  View view;
  view.v.full_read = 1;
  view.AddWritable(ws);
  csb_strv_push(&view.v.unreadable_roots, (ws + "/later/key").c_str());
  Built b(p, view, Opts());
  ASSERT_TRUE(b.ok) << b.e.msg;
  EXPECT_GE(Find(b.a, {"--perms", "0000", "--ro-bind-data", "99", ws + "/later"}), 0);
  ASSERT_EQ(b.f.n_synth, 1u);
  EXPECT_EQ(std::string(b.f.synth[0].path), ws + "/later");
  EXPECT_EQ(access((ws + "/later").c_str(), F_OK), -1) << "nothing is created while building";
}

TEST(Mounts, CarveoutThroughWritableSymlinkFailsClosed) {
  TempDir t;
  std::string ws = t.Sub("ws");
  mkdir(ws.c_str(), 0755);
  mkdir((ws + "/decoy").c_str(), 0755);
  ASSERT_EQ(symlink("decoy", (ws + "/.codex").c_str()), 0);
  csb_policy *p = csb_policy_new(CSB_PLATFORM_LINUX, ws.c_str());
  View view;
  view.v.full_read = 1;
  csb_writable_root *w = view.AddWritable(ws);
  csb_strv_push(&w->protected_names, ".codex");
  Built b(p, view, Opts());
  EXPECT_FALSE(b.ok);
  EXPECT_NE(std::string(b.e.msg).find("crosses symlink"), std::string::npos) << b.e.msg;
}

TEST(Mounts, RestrictedReadStartsFromEmptyRoot) {
  TempDir t;
  std::string ws = t.Sub("ws");
  mkdir(ws.c_str(), 0755);
  csb_policy *p = csb_policy_new(CSB_PLATFORM_LINUX, ws.c_str());
  View view;
  view.v.include_platform_defaults = 1;
  csb_strv_push(&view.v.platform_read_roots, "/usr");
  view.AddWritable(ws);
  bw_mount_opts o = Opts();
  o.mount_proc = 0;
  Built b(p, view, o);
  ASSERT_TRUE(b.ok) << b.e.msg;
  EXPECT_EQ(Find(b.a, {"--tmpfs", "/"}), 0);
  EXPECT_GE(Find(b.a, {"--ro-bind", "/usr", "/usr"}), 0);
  EXPECT_GE(Find(b.a, {"--perms", "0555", "--tmpfs", "/proc"}), 0);
  EXPECT_EQ(Find(b.a, {"--proc", "/proc"}), -1);
}

// Builds the filesystem argv of a restricted-read view; "" when it fails
// (error in *err).
std::vector<std::string> Build(const View &view, const bw_mount_opts &o, std::string *err = nullptr,
                               std::vector<std::string> *explain = nullptr) {
  Built b(csb_policy_new(CSB_PLATFORM_LINUX, "/"), view, o);
  if (b.ok && explain)
    for (size_t i = 0; i < b.f.explain.len; i++) explain->push_back(b.f.explain.items[i]);
  if (!b.ok && err) *err = b.e.msg;
  return b.a;
}

TEST(Mounts, SymlinksOnTheWayToReadableRootsAreRecreated) {
  // T/real/dir, T/alias -> real, T/hop -> alias/dir (a chain: hop, then alias)
  TempDir t;
  mkdir(t.Sub("real").c_str(), 0755);
  mkdir(t.Sub("real/dir").c_str(), 0755);
  ASSERT_EQ(symlink("real", t.Sub("alias").c_str()), 0);
  ASSERT_EQ(symlink("alias/dir", t.Sub("hop").c_str()), 0);
  View view;
  csb_strv_push(&view.v.readable_roots, t.Sub("real/dir").c_str());
  view.AddLink(t.Sub("alias"), "real", t.Sub("real/dir"));
  view.AddLink(t.Sub("hop"), "alias/dir", t.Sub("real/dir"));
  bw_mount_opts o = Opts();
  auto a = Build(view, o);
  long bind = Find(a, {"--ro-bind", t.Sub("real/dir"), t.Sub("real/dir")});
  EXPECT_GE(bind, 0);
  // exactly the host's link contents, relative as on the host
  EXPECT_GE(Find(a, {"--symlink", "real", t.Sub("alias")}), 0);
  EXPECT_GE(Find(a, {"--symlink", "alias/dir", t.Sub("hop")}), 0);
}

TEST(Mounts, LinksToRootsThatAreNotBoundAreNotRecreated) {
  TempDir t;
  mkdir(t.Sub("real").c_str(), 0755);
  ASSERT_EQ(symlink("real", t.Sub("alias").c_str()), 0);
  View view;  // the link's root is not a readable root
  view.AddLink(t.Sub("alias"), "real", t.Sub("real"));
  std::vector<std::string> explain;
  auto a = Build(view, Opts(), nullptr, &explain);
  EXPECT_EQ(Find(a, {"--symlink", "real", t.Sub("alias")}), -1);
  EXPECT_EQ(Find(a, {"--ro-bind", t.Sub("real"), t.Sub("real")}), -1);
  bool said = false;
  for (const auto &l : explain) said |= l.find("not recreated") != std::string::npos;
  EXPECT_TRUE(said);
}

TEST(Mounts, LinkToADeniedRootLeadsToTheMask) {
  TempDir t;
  mkdir(t.Sub("real").c_str(), 0755);
  ASSERT_EQ(symlink("real", t.Sub("alias").c_str()), 0);
  View view;
  csb_strv_push(&view.v.readable_roots, t.Sub("real").c_str());
  csb_strv_push(&view.v.unreadable_roots, t.Sub("real").c_str());
  view.AddLink(t.Sub("alias"), "real", t.Sub("real"));
  auto a = Build(view, Opts());
  long link = Find(a, {"--symlink", "real", t.Sub("alias")});
  long deny = Find(a, {"--perms", "0000", "--tmpfs", t.Sub("real")});
  EXPECT_GE(link, 0);
  EXPECT_GE(deny, 0);
}

TEST(Mounts, LinkInsideAWritableRootFailsClosed) {
  // A root reached through a link the sandboxed command could retarget.
  TempDir t;
  mkdir(t.Sub("ws").c_str(), 0755);
  mkdir(t.Sub("real").c_str(), 0755);
  ASSERT_EQ(symlink(t.Sub("real").c_str(), t.Sub("ws/l").c_str()), 0);
  View view;
  view.AddWritable(t.Sub("ws"));
  csb_strv_push(&view.v.readable_roots, t.Sub("real").c_str());
  view.AddLink(t.Sub("ws/l"), t.Sub("real"), t.Sub("real"));
  std::string err;
  auto a = Build(view, Opts(), &err);
  EXPECT_TRUE(a.empty());
  EXPECT_NE(err.find("crosses symlink " + t.Sub("ws/l")), std::string::npos) << err;
}

TEST(Mounts, DenyOfASymlinkToTheRootFailsClosed) {
  // Without writable roots too: hiding what the link shows would hide
  // everything.
  TempDir t;
  ASSERT_EQ(symlink("/", t.Sub("up").c_str()), 0);
  View view;
  view.v.full_read = 1;
  csb_strv_push(&view.v.unreadable_roots, t.Sub("up").c_str());
  std::string err;
  auto a = Build(view, Opts(), &err);
  EXPECT_TRUE(a.empty());
  EXPECT_NE(err.find("it is a symlink to /, and hiding that would hide the whole file system"),
            std::string::npos)
      << err;
}

TEST(Mounts, WritableDevOrProcIsRefused) {
  for (const char *root : {"/dev", "/proc", "/proc/sys"}) {
    View view;
    view.v.full_read = 1;
    view.AddWritable(root);
    std::string err;
    auto a = Build(view, Opts(), &err);
    EXPECT_TRUE(a.empty()) << root;
    EXPECT_NE(err.find(std::string("cannot enforce writable root ") + root +
                       ": binding the host's " + root + " read-write is not supported"),
              std::string::npos)
        << err;
  }
}

TEST(Mounts, NestedReadableRootsInsideAReadOnlyBindNeedNoMount) {
  TempDir t;
  for (const char *d : {"usr", "usr/bin", "usr/lib", "usr/lib/sub", "ws"}) mkdir(t.Sub(d).c_str(), 0755);
  View view;
  csb_strv_push(&view.v.readable_roots, t.Sub("usr").c_str());
  csb_strv_push(&view.v.readable_roots, t.Sub("usr/bin").c_str());
  csb_strv_push(&view.v.platform_read_roots, t.Sub("usr/lib").c_str());
  csb_strv_push(&view.v.readable_roots, t.Sub("usr/lib/sub").c_str());
  csb_strv_push(&view.v.unreadable_roots, t.Sub("usr/lib").c_str());
  auto a = Build(view, Opts());
  EXPECT_GE(Find(a, {"--ro-bind", t.Sub("usr"), t.Sub("usr")}), 0);
  EXPECT_EQ(Find(a, {"--ro-bind", t.Sub("usr/bin"), t.Sub("usr/bin")}), -1);
  // below a deny mask the readable child is bound again
  EXPECT_GE(Find(a, {"--perms", "0111", "--tmpfs", t.Sub("usr/lib")}), 0);
  EXPECT_GE(Find(a, {"--ro-bind", t.Sub("usr/lib/sub"), t.Sub("usr/lib/sub")}), 0);
}

TEST(Mounts, RuntimeFilesAreReachedThroughRecreatedLinks) {
  // A dynamically linked build's loader named through a link:
  // T/lib64 -> usr/lib64, T/usr/lib64/ld.so -> ../lib/ld.so (the file).
  TempDir t;
  for (const char *d : {"usr", "usr/lib", "usr/lib64"}) mkdir(t.Sub(d).c_str(), 0755);
  int fd = open(t.Sub("usr/lib/ld.so").c_str(), O_CREAT | O_WRONLY, 0755);
  ASSERT_GE(fd, 0);
  close(fd);
  ASSERT_EQ(symlink("usr/lib64", t.Sub("lib64").c_str()), 0);
  ASSERT_EQ(symlink("../lib/ld.so", t.Sub("usr/lib64/ld.so").c_str()), 0);
  std::string src = t.Sub("usr/lib/ld.so"), dst = t.Sub("lib64/ld.so");
  const char *srcs[] = {src.c_str()}, *dsts[] = {dst.c_str()};
  bw_mount_opts o = Opts();
  o.runtime_src = srcs;
  o.runtime_dst = dsts;
  o.n_runtime = 1;
  View view;
  auto a = Build(view, o);
  EXPECT_GE(Find(a, {"--symlink", "usr/lib64", t.Sub("lib64")}), 0);
  EXPECT_GE(Find(a, {"--symlink", "../lib/ld.so", t.Sub("usr/lib64/ld.so")}), 0);
  EXPECT_GE(Find(a, {"--ro-bind", src, src}), 0);
  // when the policy already shows the tree, nothing is added
  View readable;
  csb_strv_push(&readable.v.readable_roots, t.Sub("usr").c_str());
  readable.AddLink(t.Sub("lib64"), "usr/lib64", t.Sub("usr/lib64"));
  csb_strv_push(&readable.v.readable_roots, t.Sub("usr/lib64").c_str());
  a = Build(readable, o);
  EXPECT_GE(Find(a, {"--symlink", "usr/lib64", t.Sub("lib64")}), 0);
  EXPECT_EQ(Find(a, {"--ro-bind", src, src}), -1);
  EXPECT_EQ(Find(a, {"--ro-bind", src, dst}), -1);
}

TEST(Mounts, DataFilesComeLastAndReadTheirContentFromTheStart) {
  TempDir t;
  std::string ws = t.Sub("ws");
  mkdir(ws.c_str(), 0755);
  csb_policy *p = csb_policy_new(CSB_PLATFORM_LINUX, ws.c_str());
  View view;
  view.v.include_platform_defaults = 1;
  view.v.unreadable_roots.items = nullptr;
  std::string hidden = ws + "/hidden";
  csb_strv_push(&view.v.unreadable_roots, hidden.c_str());
  mkdir(hidden.c_str(), 0755);
  view.AddWritable(ws);
  int pfd[2];
  ASSERT_EQ(pipe(pfd), 0);
  int content = open("/dev/null", O_RDONLY);
  std::string dst = hidden + "/ca/bundle.pem";
  const char *dsts[] = {dst.c_str()};
  int fds[] = {content};
  bw_mount_opts o = Opts();
  o.fake_data_fd = 0;
  o.data_file_dst = dsts;
  o.data_file_fd = fds;
  o.n_data_files = 1;
  Built b(p, view, o);
  ASSERT_TRUE(b.ok) << b.e.msg;
  const auto &a = b.a;
  const bw_fsargs &f = b.f;
  long deny = Find(a, {"--tmpfs", hidden});
  ASSERT_GE(deny, 0);
  ASSERT_EQ(f.n_data_fds, 1u);
  std::string dup_fd = std::to_string(f.data_fds[0]);
  EXPECT_NE(f.data_fds[0], content);
  long data = Find(a, {"--perms", "0444", "--ro-bind-data", dup_fd, dst});
  EXPECT_GT(data, deny);
  long remount = Find(a, {"--remount-ro", hidden});
  EXPECT_GT(remount, data);  // created inside the mask before it turns read-only
  for (size_t i = 0; i < f.n_data_fds; i++) close(f.data_fds[i]);
  close(content);
  close(pfd[0]);
  close(pfd[1]);
}

TEST(BwrapFind, HelpParsing) {
  bw_bwrap b;
  memset(&b, 0, sizeof b);
  bw_bwrap_parse_help("usage\n    --as-pid-1   x\n    --perms OCTAL\n    --argv0 VALUE\n    --ro-bind-fd FD DEST\n", &b);
  EXPECT_TRUE(b.has_as_pid_1);
  EXPECT_TRUE(b.has_perms);
  EXPECT_TRUE(b.has_argv0);
  EXPECT_TRUE(b.has_ro_bind_fd);
  memset(&b, 0, sizeof b);
  bw_bwrap_parse_help("    --as-pid-1\n    --permsx\n", &b);
  EXPECT_FALSE(b.has_perms);
  EXPECT_FALSE(b.has_argv0);
}

// Writes `data` to `path` and scans it as bubblewrap's binary.
int ScanFile(const std::string &path, const std::string &data, bw_bwrap *b) {
  int fd = open(path.c_str(), O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0755);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, data.data(), data.size()), (ssize_t)data.size());
  memset(b, 0, sizeof *b);
  int r = bw_bwrap_scan_binary(fd, (off_t)data.size(), b);
  close(fd);
  return r;
}

// The scanner looks at 16 bytes at a time: a name is found wherever it
// starts, after runs of dashes of any length, and only with a terminator.
TEST(BwrapFind, HelpParsingAtEveryOffset) {
  for (size_t off = 0; off < 40; off++)
    for (const char *pad : {"x", "-"})
      for (const char *tail : {"\n", "=", "x", ""}) {
        std::string text;
        for (size_t i = 0; i < off; i++) text += pad;
        text += std::string("--perms") + tail;
        if (*tail == 'x') text += std::string(20, ' ');
        bw_bwrap b;
        memset(&b, 0, sizeof b);
        bw_bwrap_parse_help(text.c_str(), &b);
        EXPECT_EQ(b.has_perms, *tail != 'x') << "offset " << off << " pad " << pad << " tail '" << tail << "'";
        EXPECT_FALSE(b.has_argv0);
      }
}

TEST(BwrapFind, BinaryScanSeesNamesAcrossPieces) {
  TempDir t;
  std::string path = t.Sub("bwrap");
  // Option names straddling the scanner's 8 KiB pieces, one that only
  // looks like a name there ("--argv0x"), and one at the very end.
  std::string data = "\177ELF";
  data.resize(8192 - 4, 'x');
  data += " --perms ";          // starts before the boundary, ends after it
  // The second piece ends at 8192 + (8192 - 24): "--argv0" ends exactly
  // there and goes on with "x" in the third piece, so it is no match.
  data.resize(16360 - 8, '-');
  data += " --argv0x --info-fd\n";
  data += std::string(1000, 'z') + " --as-pid-1";
  bw_bwrap b;
  EXPECT_TRUE(ScanFile(path, data, &b));
  EXPECT_TRUE(b.has_perms);
  EXPECT_TRUE(b.has_info_fd);
  EXPECT_TRUE(b.has_as_pid_1);
  EXPECT_FALSE(b.has_argv0);
  EXPECT_FALSE(b.has_ro_bind_fd);
  // not an ELF file: nothing is trusted
  data.replace(0, 4, "#!/b");
  EXPECT_FALSE(ScanFile(path, data, &b));
}

// An ELF64 file: the option names are looked for in the segments loaded
// without execute permission, and in the whole file when those lack a
// usable bubblewrap's options.
std::string ElfWithSegments(const std::string &code, const std::string &data) {
  Elf64_Ehdr eh;
  memset(&eh, 0, sizeof eh);
  memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = ET_EXEC;
  eh.e_machine = EM_X86_64;
  eh.e_phoff = sizeof eh;
  eh.e_phentsize = sizeof(Elf64_Phdr);
  eh.e_phnum = 3;
  Elf64_Phdr ph[3];
  memset(ph, 0, sizeof ph);
  size_t at = sizeof eh + sizeof ph;
  ph[0] = {PT_LOAD, PF_R, 0, 0, 0, at, at, 4096};                           // headers
  ph[1] = {PT_LOAD, PF_R | PF_X, at, 0, 0, code.size(), code.size(), 4096};  // code
  ph[2] = {PT_LOAD, PF_R, at + code.size(), 0, 0, data.size(), data.size(), 4096};
  std::string f((const char *)&eh, sizeof eh);
  f.append((const char *)ph, sizeof ph);
  return f + code + data;
}

TEST(BwrapFind, BinaryScanReadsDataSegments) {
  TempDir t;
  std::string path = t.Sub("bwrap");
  struct Case {
    std::string code, data;
    bool argv0, info_fd;
  } cases[] = {
      // names in the code segment do not count when the data has the help text
      {" --argv0 x", " --perms x --as-pid-1 x --info-fd\n", false, true},
      // the data lacks --as-pid-1: the whole file is read
      {" --argv0 x --as-pid-1\n", " --perms x --info-fd\n", true, true},
  };
  for (const Case &c : cases) {
    bw_bwrap b;
    EXPECT_TRUE(ScanFile(path, ElfWithSegments(c.code, c.data), &b));
    EXPECT_TRUE(b.has_perms && b.has_as_pid_1);
    EXPECT_EQ(b.has_argv0, c.argv0) << c.code;
    EXPECT_EQ(b.has_info_fd, c.info_fd) << c.code;
  }
  // A segment that runs past the end of the file is read up to the end.
  std::string data = ElfWithSegments("", " --perms --as-pid-1");
  data.resize(data.size() - 1);  // "--as-pid-" only
  bw_bwrap b;
  EXPECT_TRUE(ScanFile(path, data, &b));
  EXPECT_TRUE(b.has_perms);
  EXPECT_FALSE(b.has_as_pid_1);
}

TEST(Proxy, PlanFailsClosed) {
  bw_proxy_plan plan;
  csb_error e;
  char *none[] = {(char *)"PATH=/bin", nullptr};
  EXPECT_FALSE(bw_proxy_plan_from_env(none, &plan, nullptr, &e));
  EXPECT_NE(std::string(e.msg).find("requires a proxy environment variable"), std::string::npos);
  char *remote[] = {(char *)"https_proxy=http://proxy.example:3128", nullptr};
  EXPECT_FALSE(bw_proxy_plan_from_env(remote, &plan, nullptr, &e));
  EXPECT_NE(std::string(e.msg).find("loopback"), std::string::npos);
  char *two[] = {(char *)"http_proxy=http://127.0.0.1:3128", (char *)"HTTPS_PROXY=127.0.0.1:3128",
                 (char *)"ALL_PROXY=socks5h://127.0.0.1:8081", nullptr};
  ASSERT_TRUE(bw_proxy_plan_from_env(two, &plan, nullptr, &e)) << e.msg;
  EXPECT_EQ(plan.n_routes, 3u);
  EXPECT_EQ(plan.n_endpoints, 2u);
  bw_proxy_plan_free(&plan);
  // Names in any letter case; the endpoint is the address, not the spelling.
  char *mixed[] = {(char *)"Http_Proxy=http://[::1]:9/", (char *)"https_proxy=http://proxy.corp:8080",
                   (char *)"NO_PROXY=localhost", (char *)"PIP_PROXY=http://LOCALHOST:3128", nullptr};
  csb_strv unrouted;
  csb_strv_init(&unrouted);
  ASSERT_TRUE(bw_proxy_plan_from_env(mixed, &plan, &unrouted, &e)) << e.msg;
  // the one that routes nowhere is reported (NO_PROXY is no proxy URL)
  ASSERT_EQ(unrouted.len, 1u);
  EXPECT_STREQ(unrouted.items[0], "https_proxy=http://proxy.corp:8080");
  csb_strv_free(&unrouted);
  ASSERT_EQ(plan.n_routes, 2u);
  EXPECT_STREQ(plan.routes[0].env_key, "Http_Proxy");
  EXPECT_STREQ(plan.routes[0].host, "::1");
  EXPECT_EQ(plan.routes[0].port, 9);
  EXPECT_STREQ(plan.routes[1].host, "127.0.0.1");
  EXPECT_EQ(plan.routes[1].port, 3128);
  bw_proxy_plan_free(&plan);
}

// ---- the proxy's CA bundles -------------------------------------------------

const char kCertA[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBszCCAVmgAwIBAgIUAbcdefghijklmnopqrstuvwxyz0123456789+/==\n"
    "AQIDBA==\n"
    "-----END CERTIFICATE-----\n";

TEST(Trust, OnlyCertificateBlocks) {
  struct {
    std::string text;
    const char *why;  // nullptr: accepted
  } cases[] = {
      {kCertA, nullptr},
      {std::string("\n  \n") + kCertA + "\r\n" + kCertA, nullptr},
      {"-----BEGIN CERTIFICATE-----\r\nAAAA\r\n-----END CERTIFICATE-----\r\n", nullptr},
      {std::string(kCertA).substr(0, strlen(kCertA) - 1), nullptr},  // no final newline
      {"", "it holds no certificate"},
      {"\n\n", "it holds no certificate"},
      {std::string("# Issuer: x\n") + kCertA, "it holds text outside PEM CERTIFICATE blocks"},
      {std::string(kCertA) + "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
       "it holds a private key"},
      {std::string(kCertA) + "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
       "it holds a private key"},
      {"-----BEGIN TRUSTED CERTIFICATE-----\nAAAA\n-----END TRUSTED CERTIFICATE-----\n",
       "it holds a PEM block other than CERTIFICATE"},
      {"-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\nAAAA\n-----END CERTIFICATE-----\n",
       "a PEM CERTIFICATE block holds something other than base64 (headers, keys, text)"},
      {"-----BEGIN CERTIFICATE-----\nAAAA\n\nAAAA\n-----END CERTIFICATE-----\n",
       "a PEM CERTIFICATE block holds something other than base64 (headers, keys, text)"},
      {"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n", "it holds an empty PEM CERTIFICATE block"},
      {"-----BEGIN CERTIFICATE-----\nAAAA\n", "a PEM CERTIFICATE block is not terminated"},
      {std::string(kCertA) + "trailer", "it holds text outside PEM CERTIFICATE blocks"},
      {std::string(kCertA) + std::string("\0", 1), "it holds a NUL byte"},
  };
  for (const auto &c : cases) {
    const char *why = nullptr;
    int ok = bw_pem_only_certificates(c.text.data(), c.text.size(), &why);
    if (c.why == nullptr) {
      EXPECT_TRUE(ok) << c.text << (why ? why : "");
    } else {
      EXPECT_FALSE(ok) << c.text;
      EXPECT_STREQ(why, c.why) << c.text;
    }
  }
}

void WriteFile(const std::string &path, const std::string &text) {
  FILE *f = fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fwrite(text.data(), 1, text.size(), f);
  fclose(f);
}

// Loads the bundles listed in `list`; on failure returns the message.
std::string Load(const std::string &list, bw_trust_bundles *b) {
  std::string var = std::string(BW_TRUST_BUNDLES_VAR) + "=" + list;
  char *env[] = {(char *)"PATH=/bin", (char *)var.c_str(), nullptr};
  csb_error e;
  csb_error_clear(&e);
  return bw_trust_bundles_load(env, b, &e) ? "" : e.msg;
}

TEST(Trust, LoadChecksTheFileAndKeepsASealedCopy) {
  TempDir t;
  std::string good = t.Sub("good.pem");
  WriteFile(good, kCertA);
  bw_trust_bundles b;
  ASSERT_EQ(Load(good + "::" + good, &b), "");
  ASSERT_EQ(b.n, 1u);
  EXPECT_EQ(std::string(b.paths[0]), good);
  // the copy: same bytes, sealed against writes
  WriteFile(good, "changed after the check\n");
  char buf[512];
  ssize_t n = pread(b.fds[0], buf, sizeof buf, 0);
  ASSERT_EQ(n, (ssize_t)strlen(kCertA));
  EXPECT_EQ(std::string(buf, (size_t)n), kCertA);
  EXPECT_LT(pwrite(b.fds[0], "x", 1, 0), 0);
  bw_trust_bundles_free(&b);

  char *none[] = {(char *)"PATH=/bin", nullptr};
  csb_error e;
  ASSERT_TRUE(bw_trust_bundles_load(none, &b, &e));
  EXPECT_EQ(b.n, 0u);
}

TEST(Trust, LoadRefusesWhatIsNotACertificateFile) {
  TempDir t;
  std::string good = t.Sub("good.pem"), key = t.Sub("key.pem"), link = t.Sub("link.pem");
  WriteFile(good, kCertA);
  WriteFile(key, std::string(kCertA) + "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
  ASSERT_EQ(symlink(good.c_str(), link.c_str()), 0);
  mkdir(t.Sub("dir").c_str(), 0755);
  bw_trust_bundles b;
  struct {
    std::string list, want;
  } cases[] = {
      {key, key + ": it holds a private key"},
      {link, link + ": a symbolic link (only a regular file is bound)"},
      {good + ":" + t.Sub("dir"), t.Sub("dir") + ": not a regular file"},
      {"good.pem", "good.pem: not an absolute path"},
      {t.path() + "/./good.pem", t.path() + "/./good.pem: not a normalised path"},
      {t.Sub("missing.pem"), t.Sub("missing.pem") + ": No such file or directory"},
  };
  for (const auto &c : cases) {
    std::string msg = Load(c.list, &b);
    EXPECT_EQ(msg.rfind(std::string(BW_TRUST_BUNDLES_VAR) + ": " + c.want, 0), 0u) << msg;
    EXPECT_EQ(b.n, 0u);
  }
}

TEST(UnixRules, DeepestRuleWins) {
  char a1[] = "/run", a2[] = "/home/u/agent.sock", d1[] = "/run/docker.sock";
  char *allow[] = {a1, a2};
  char *deny[] = {d1};
  bw_unix_rules r = {allow, 2, deny, 1, 0, nullptr, 1};
  EXPECT_TRUE(bw_unix_rules_allow(&r, "/run/user/1000/bus"));
  EXPECT_FALSE(bw_unix_rules_allow(&r, "/run/docker.sock"));
  EXPECT_TRUE(bw_unix_rules_allow(&r, "/home/u/agent.sock"));
  EXPECT_FALSE(bw_unix_rules_allow(&r, "/home/u/agent.sock2"));
  EXPECT_FALSE(bw_unix_rules_allow(&r, "/runx/a.sock"));
  r.allow_all = 1;
  EXPECT_TRUE(bw_unix_rules_allow(&r, "/run/docker.sock"));
}

TEST(UnixRules, PinnedRuleAllowsOnlyItsSocket) {
  char a1[] = "/run", a2[] = "/w/agent.sock";
  char *allow[] = {a1, a2};
  bw_unix_pin pin[] = {{0, 0, 0}, {1, 7, 42}};
  bw_unix_rules r = {allow, 2, nullptr, 0, 0, pin, 1};
  struct stat pinned = {}, other = {};
  pinned.st_dev = 7;
  pinned.st_ino = 42;
  other.st_dev = 7;
  other.st_ino = 43;
  EXPECT_TRUE(bw_unix_rules_allow_socket(&r, "/w/agent.sock", &pinned));
  EXPECT_FALSE(bw_unix_rules_allow_socket(&r, "/w/agent.sock", &other));
  other.st_ino = 42;
  other.st_dev = 8;
  EXPECT_FALSE(bw_unix_rules_allow_socket(&r, "/w/agent.sock", &other));
  // an unpinned rule decides by path alone; no rule, no connect
  EXPECT_TRUE(bw_unix_rules_allow_socket(&r, "/run/user/1000/bus", &other));
  EXPECT_FALSE(bw_unix_rules_allow_socket(&r, "/w/other.sock", &pinned));
  r.allow_all = 1;
  EXPECT_TRUE(bw_unix_rules_allow_socket(&r, "/w/agent.sock", &other));
}

TEST(Sha256, KnownVector) {
  TempDir t;
  std::string f = t.Sub("abc");
  int fd = open(f.c_str(), O_CREAT | O_RDWR, 0600);
  ASSERT_EQ(write(fd, "abc", 3), 3);
  char hex[65];
  csb_error e;
  ASSERT_TRUE(bw_sha256_fd(fd, hex, &e));
  EXPECT_STREQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  close(fd);
}

TEST(Errors, ProcAndUsernsClassification) {
  EXPECT_TRUE(bw_is_proc_failure("bwrap: Can't mount proc on /newroot/proc: Invalid argument"));
  EXPECT_TRUE(bw_is_proc_failure("bwrap: Can't mount proc on /newroot/proc: Operation not permitted"));
  EXPECT_TRUE(bw_is_proc_failure("bwrap: Can't mount proc on /newroot/proc: Permission denied"));
  EXPECT_FALSE(bw_is_proc_failure("bwrap: Can't bind mount /dev/null: Operation not permitted"));
  EXPECT_TRUE(bw_is_userns_failure("bwrap: setting up uid map: Permission denied"));
  EXPECT_TRUE(bw_is_userns_failure("bwrap: loopback: Failed RTM_NEWADDR: Operation not permitted"));
  // what bubblewrap says when unshare(CLONE_NEWUSER) fails, in each of
  // its spellings (0.4-0.6, 0.8 as shipped by Debian and bundled here, later)
  EXPECT_TRUE(bw_is_userns_failure("bwrap: No permissions to creating new namespace, likely because the kernel "
                                   "does not allow non-privileged user namespaces. On e.g. debian this can be "
                                   "enabled with 'sysctl kernel.unprivileged_userns_clone=1'."));
  EXPECT_TRUE(bw_is_userns_failure("bwrap: No permissions to create new namespace, likely because the kernel does "
                                   "not allow non-privileged user namespaces. See <https://deb.li/bubblewrap> or "
                                   "<file:///usr/share/doc/bubblewrap/README.Debian.gz>."));
  EXPECT_TRUE(bw_is_userns_failure("bwrap: No permissions to create a new namespace, likely because the kernel "
                                   "does not allow non-privileged user namespaces."));
  EXPECT_TRUE(bw_is_userns_failure("bwrap: Creating new namespace failed: nesting depth or "
                                   "/proc/sys/user/max_*_namespaces exceeded (ENOSPC)"));
  EXPECT_TRUE(bw_is_userns_failure("bwrap: Creating new namespace failed, likely because the kernel does not "
                                   "support user namespaces.  bwrap must be installed setuid on such systems."));
  EXPECT_FALSE(bw_is_userns_failure("bwrap: execvp x: No such file or directory"));
}

// A bubblewrap that cannot be executed: the child (sharing our memory until
// it execs) only notes errno, and the launcher reports it in full, even for
// a path too long for any buffer the child could have used.
TEST(Launch, ExecFailureIsReportedWhole) {
  const std::string missing = "/nonexistent/bwrap";
  const std::string too_long = "/" + std::string(5000, 'b');
  for (const std::string &path : {missing, too_long}) {
    int err[2], started[2], info[2];
    ASSERT_EQ(pipe2(err, O_CLOEXEC), 0);
    ASSERT_EQ(pipe2(started, O_CLOEXEC), 0);
    ASSERT_EQ(pipe2(info, O_CLOEXEC), 0);
    char name[] = "bwrap";
    char *argv[] = {name, nullptr};
    bw_launch_result res;
    ASSERT_EQ(bw_launch_run(path.c_str(), argv, nullptr, 0, err[1], err[0], started[0], info[0], info[1],
                            started[1], nullptr, nullptr, nullptr, &res),
              1);
    EXPECT_EQ(res.started, 0);
    EXPECT_TRUE(WIFEXITED(res.wait_status));
    EXPECT_EQ(WEXITSTATUS(res.wait_status), CSB_EXIT_UNAVAILABLE);
    std::string why = strerror(path == missing ? ENOENT : ENAMETOOLONG);
    std::string want = "csb-bwrap: error: cannot execute bubblewrap " + path + ": " + why + "\n";
    std::string got = res.captured ? res.captured : "(none)";
    EXPECT_TRUE(got == want) << "got " << got.size() << " bytes ending in `"
                             << got.substr(got.size() > 60 ? got.size() - 60 : 0) << "`, want " << want.size()
                             << " ending in `" << want.substr(want.size() - 60) << "`";
    free(res.captured);
    close(err[0]);
    close(started[0]);
    close(info[0]);
  }
}

}  // namespace

TEST(Release, OnlyTheRootMountWithDiscardDefersTheLastCloses) {
  const std::string mi =
      "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
      "27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard,resv_strict\n"
      "270 27 0:30 / /mnt/discard rw,relatime,discard - ext4 /dev/loop0 rw\n"
      "31 1 0:31 / / rw,relatime,discard master:2 - xfs /dev/vdb rw\n"
      "32 1 0:32 / / rw - ext4 /dev/vdc rw,nodiscard,discard_granularity\n"
      "33 1 0:33 /sub / rw - ext4 /dev/vdd rw,discard\n"
      "34 1 0:34 / /x\\040y rw - ext4 /dev/vde rw,discard\n"
      "35 1 0:35 / / rw\n"
      "36 1 0:36 / /\n"
      "bad line\n"
      "37 1 0:37 / / rw - tmpfs tmpfs rw,discard";
  struct {
    int id, defer;
  } cases[] = {
      {27, 1},   // the root, `discard` among the super options (and tags before the separator)
      {270, 0},  // `discard`, but not the root: someone may unmount it
      {31, 1},   // `discard` among the mount's own options
      {32, 0},   // nodiscard and a longer option are not `discard`
      {33, 1},   // a bind of a subdirectory, mounted at the root
      {34, 0},   // a mount point with an escaped space
      {35, 0},   // no separator, no super options
      {36, 0},   // cut short
      {37, 1},   // the last line, without a newline
      {2, 0},    // not listed (nor is 27's prefix 2)
      {0, 0},
  };
  for (const auto &c : cases)
    EXPECT_EQ(bw_release_mountinfo_says_defer(mi.data(), mi.size(), c.id), c.defer) << c.id;
  // the first line of an id decides, a malformed one included; no leading zeros
  const std::string twice = "40 1 0:40\n40 1 0:40 / / rw - ext4 /dev/vdf rw,discard\n";
  EXPECT_EQ(bw_release_mountinfo_says_defer(twice.data(), twice.size(), 40), 0);
  const std::string zero = "041 1 0:41 / / rw - ext4 /dev/vdg rw,discard\n";
  EXPECT_EQ(bw_release_mountinfo_says_defer(zero.data(), zero.size(), 41), 0);
  EXPECT_EQ(bw_release_mountinfo_says_defer("", 0, 27), 0);
  EXPECT_EQ(bw_release_mountinfo_says_defer("27", 2, 27), 0);
}

// statmount(2)'s answer: a 512-byte head (size at 0, the options' offset
// at 4, the mask at 8, the mount point's offset at 108), then the strings.
static std::vector<unsigned char> StatmountAnswer(uint64_t mask, const std::string &point,
                                                  const std::string &opts, size_t room = 4096) {
  std::vector<unsigned char> a(room, 0xee);
  std::fill(a.begin(), a.begin() + 512, 0);
  std::string strs = point + std::string(1, '\0') + opts + std::string(1, '\0');
  memcpy(a.data() + 512, strs.data(), strs.size());
  uint32_t size = (uint32_t)(512 + strs.size()), o = (uint32_t)(point.size() + 1), pt = 0;
  memcpy(a.data(), &size, 4);
  memcpy(a.data() + 4, &o, 4);
  memcpy(a.data() + 8, &mask, 8);
  memcpy(a.data() + 108, &pt, 4);
  return a;
}

TEST(Registry, StatmountDecidesWhereItCan) {
  const uint64_t both = 0x10 | 0x80;
  auto says = [](const std::vector<unsigned char> &a) { return bw_release_statmount_says_defer(a.data(), a.size()); };
  EXPECT_EQ(says(StatmountAnswer(both | 0x21, "/", "discard,resv_strict")), 1);
  EXPECT_EQ(says(StatmountAnswer(both, "/", "errors=remount-ro,discard")), 1);
  EXPECT_EQ(says(StatmountAnswer(both, "/", "nodiscard")), 0);
  EXPECT_EQ(says(StatmountAnswer(both, "/", "discard=async")), 0);
  EXPECT_EQ(says(StatmountAnswer(both, "/", "")), 0);
  EXPECT_EQ(says(StatmountAnswer(both, "/home", "discard")), 0);
  // the options left out of the mask (a file system that has none, or a
  // kernel before 6.11): the mount table decides
  EXPECT_EQ(says(StatmountAnswer(0x10, "/", "discard")), -1);
  // malformed: offsets past the strings, a size past the room, no NUL
  auto a = StatmountAnswer(both, "/", "discard");
  uint32_t far = 4000;
  auto b = a;
  memcpy(b.data() + 4, &far, 4);
  EXPECT_EQ(says(b), -1);
  b = a;
  memcpy(b.data() + 108, &far, 4);
  EXPECT_EQ(says(b), -1);
  b = a;
  uint32_t big = 5000;
  memcpy(b.data(), &big, 4);
  EXPECT_EQ(says(b), -1);
  b = a;
  uint32_t cut = 512 + 2 + 3;  // "/\0dis": the options' NUL cut off
  memcpy(b.data(), &cut, 4);
  EXPECT_EQ(says(b), -1);
  EXPECT_EQ(bw_release_statmount_says_defer(a.data(), 100), -1);
}

// On this host: whatever statmount(2) says (when the kernel has it) is
// what the mount table says, for the root and for mounts that are not.
// Where close_range(2) fails (an old kernel, a filter that refuses it) the
// keeper closes descriptors one by one up to our highest one, however high:
// it must never hold the launcher's other descriptors (here a pipe's write
// end at 5000, whose reader must see its end while the keeper lives).
TEST(Release, KeeperClosesHighDescriptorsWithoutCloseRange) {
#if defined(__x86_64__) || defined(__aarch64__)
  int ends[2], go[2];
  ASSERT_EQ(pipe(ends), 0);
  ASSERT_EQ(pipe(go), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(ends[0]);
    close(go[0]);
    if (dup2(ends[1], 5000) != 5000) _exit(2);
    close(ends[1]);
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 436 /* close_range */, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {(unsigned short)(sizeof f / sizeof f[0]), f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
      _exit(3);
    int held = open("/", O_PATH | O_CLOEXEC);
    bw_release_keeper k;
    if (held < 0 || !bw_release_keeper_start(&k, &held, 1)) _exit(4);
    close(held);
    close(5000);
    if (write(go[1], "k", 1) != 1) _exit(5);
    sleep(10);  // (the parent kills us)
    _exit(0);
  }
  close(ends[1]);
  close(go[1]);
  char c;
  ASSERT_EQ(read(go[0], &c, 1), 1) << "the child could not start a keeper";
  struct pollfd p = {ends[0], POLLIN, 0};
  int ready = poll(&p, 1, 5000);
  char b;
  EXPECT_EQ(ready, 1) << "the pipe's write end is still open (in the keeper) 5 s later";
  if (ready == 1) {
    EXPECT_EQ(read(ends[0], &b, 1), 0);
  }
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  close(ends[0]);
  close(go[0]);
#else
  GTEST_SKIP() << "no keeper on this architecture";
#endif
}

TEST(Registry, StatmountAndTheMountTableAgree) {
  char *text = nullptr;
  size_t len = 0;
  ASSERT_EQ(csb_read_file("/proc/self/mountinfo", 16 << 20, &text, &len, nullptr), 1);
  int root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(root_fd, 0);
  int root_id = bw_release_mount_id(root_fd);
  close(root_fd);
  for (const char *dir : {"/", "/tmp", "/proc", "/dev", "/dev/shm", "/sys"}) {
    int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) continue;
    int id = bw_release_mount_id(fd);
    int want = id == root_id && bw_release_mountinfo_says_defer(text, len, id);
    EXPECT_EQ(bw_release_worth_deferring_on(fd, id), want) << dir;
    close(fd);
  }
  free(text);
}

TEST(Registry, OnlyStandardPlacesAreTrustedForCaches) {
  unsigned u = (unsigned)geteuid();
  std::string tmp = "/tmp/csb-bwrap-" + std::to_string(u);
  std::string run_user = "/run/user/" + std::to_string(u) + "/csb-bwrap";
  EXPECT_EQ(bw_registry_trusted(tmp.c_str()), 1);
  EXPECT_EQ(bw_registry_trusted(run_user.c_str()), 1);
  EXPECT_EQ(bw_registry_trusted("/run/csb-bwrap"), u == 0 ? 1 : 0);
  EXPECT_EQ(bw_registry_trusted("/home/u/.run/csb-bwrap"), 0);
  EXPECT_EQ(bw_registry_trusted((tmp + "/x").c_str()), 0);
  EXPECT_EQ(bw_registry_trusted("/tmp/csb-bwrap-99999999"), 0);
  EXPECT_EQ(bw_registry_trusted(nullptr), 0);
}

// A registry no run hides ($XDG_RUNTIME_DIR elsewhere than /run/user/UID)
// may hold records another run's command planted: the sweep acts on none
// (here: a dead run's record naming an empty directory outside).
TEST(Registry, SweepOfARegistryNoRunHidesRemovesNothing) {
  char tmpl[] = "/tmp/csb-reg-test.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string base = tmpl, reg = base + "/xdg/csb-bwrap", victim = base + "/victim";
  ASSERT_EQ(mkdir((base + "/xdg").c_str(), 0700), 0);
  ASSERT_EQ(mkdir(reg.c_str(), 0700), 0);
  ASSERT_EQ(mkdir(victim.c_str(), 0755), 0);
  pid_t dead = fork();
  ASSERT_GE(dead, 0);
  if (dead == 0) _exit(0);
  ASSERT_EQ(waitpid(dead, nullptr, 0), dead);
  std::string rec = std::to_string(dead) + " d " + victim;
  rec.push_back('\0');
  int fd = open((reg + "/lock").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, rec.data(), rec.size()), (ssize_t)rec.size());
  close(fd);
  ASSERT_EQ(bw_registry_trusted(reg.c_str()), 0);
  EXPECT_EQ(bw_registry_sweep(reg.c_str(), nullptr), 1);
  struct stat st;
  EXPECT_EQ(stat(victim.c_str(), &st), 0) << "the planted record's directory was removed";
  std::string cmd = "rm -rf '" + base + "'";
  (void)system(cmd.c_str());
}

// $XDG_RUNTIME_DIR elsewhere than /run/user/UID comes after /tmp's.
TEST(Registry, RuntimeDirElsewhereComesLast) {
  char tmpl[] = "/tmp/csb-xdg-test.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const char *old = getenv("XDG_RUNTIME_DIR");
  std::string saved = old ? old : "";
  setenv("XDG_RUNTIME_DIR", tmpl, 1);
  char *cand[BW_REGISTRY_MAX_CANDIDATES];
  size_t n = bw_registry_candidates(cand, 0);
  if (old) setenv("XDG_RUNTIME_DIR", saved.c_str(), 1);
  else unsetenv("XDG_RUNTIME_DIR");
  rmdir(tmpl);
  unsigned u = (unsigned)geteuid();
  std::vector<std::string> got(cand, cand + n);
  for (size_t i = 0; i < n; i++) free(cand[i]);
  std::vector<std::string> want;
  if (u == 0) want.push_back("/run/csb-bwrap");
  want.push_back("/tmp/csb-bwrap-" + std::to_string(u));
  want.push_back(std::string(tmpl) + "/csb-bwrap");
  EXPECT_EQ(got, want);
}

// ---- seccomp: the binary-tree layout decides as the chain does ---------------

namespace seccomp_layout {

struct Insn {
  uint16_t code;
  uint8_t jt, jf;
  uint32_t k;
};

std::vector<Insn> Export(const bw_seccomp_opts &o) {
  int fd = memfd_create("filter", MFD_CLOEXEC);
  csb_error e;
  csb_error_clear(&e);
  EXPECT_EQ(bw_seccomp_export_bpf(&o, fd, &e), 1) << e.msg;
  off_t n = lseek(fd, 0, SEEK_END);
  std::vector<Insn> prog((size_t)n / sizeof(Insn));
  EXPECT_EQ(pread(fd, prog.data(), (size_t)n, 0), n);
  close(fd);
  return prog;
}

// A classic-BPF interpreter for the instructions libseccomp emits; an
// instruction it does not know fails the test.
uint32_t RunFilter(const std::vector<Insn> &prog, const uint32_t data[16]) {
  uint32_t a = 0, x = 0, mem[16] = {0};
  for (size_t pc = 0; pc < prog.size(); pc++) {
    const Insn &i = prog[pc];
    uint32_t src = (i.code & 0x08) ? x : i.k;  // BPF_X : BPF_K
    switch (i.code) {
      case 0x20: a = data[i.k / 4]; break;            // ld [k]
      case 0x00: a = i.k; break;                      // ld #k
      case 0x60: a = mem[i.k & 15]; break;            // ld M[k]
      case 0x61: x = mem[i.k & 15]; break;            // ldx M[k]
      case 0x02: mem[i.k & 15] = a; break;            // st M[k]
      case 0x03: mem[i.k & 15] = x; break;            // stx M[k]
      case 0x54: case 0x5c: a &= src; break;          // and
      case 0x44: case 0x4c: a |= src; break;          // or
      case 0x07: x = a; break;                        // tax
      case 0x87: a = x; break;                        // txa
      case 0x05: pc += i.k; break;                    // ja
      case 0x15: case 0x1d: pc += a == src ? i.jt : i.jf; break;
      case 0x25: case 0x2d: pc += a > src ? i.jt : i.jf; break;
      case 0x35: case 0x3d: pc += a >= src ? i.jt : i.jf; break;
      case 0x45: case 0x4d: pc += (a & src) ? i.jt : i.jf; break;
      case 0x06: return i.k;                          // ret #k
      case 0x16: return a;                            // ret a
      default: ADD_FAILURE() << "opcode " << i.code; return 0;
    }
  }
  ADD_FAILURE() << "ran off the end";
  return 0;
}

TEST(Seccomp, BinaryTreeDecidesAsTheChainDoes) {
  // argument values the rules look at, and neighbours
  const uint64_t vals[] = {0, 1, 2, 3, 5, 10, 16, 17, 40, 0x5412, 0x541c, 0x5423, 0x540c,
                           0x40086602, 0x80086601, 0x401c5820, 0x40087602, 0x40806685,
                           0x800c6613, 0x10000000, 0x20000000, 0x40000000, 0x7e020000,
                           0xffffffffull, 0x100005412ull, 0xffffffff00000002ull};
  const uint32_t archs[] = {0xc000003e /* x86_64 */, 0x40000003 /* i386 */, 0xc00000b7 /* aarch64 */};
  for (int net = 0; net < 3; net++)
    for (int unix_all = 0; unix_all < 2; unix_all++)
      for (int meta = 0; meta < 2; meta++) {
        bw_seccomp_opts o;
        memset(&o, 0, sizeof o);
        o.net = (bw_seccomp_net)net;
        o.unix_all = unix_all;
        o.metadata_read_only = meta;
        std::vector<Insn> tree = Export(o);
        o.linear = 1;
        std::vector<Insn> chain = Export(o);
        ASSERT_FALSE(tree.empty());
        ASSERT_NE(tree.size() == chain.size() &&
                      memcmp(tree.data(), chain.data(), tree.size() * sizeof(Insn)) == 0,
                  true)
            << "the layouts are the same program";
        size_t differ = 0, denied = 0, runs = 0;
        for (uint32_t arch : archs)
          for (uint32_t nr = 0; nr < 600; nr++)
            for (uint32_t x32 : {0u, 0x40000000u})
              // (arguments only matter past the checks of the architecture
              // and of the x32 bit: swept for native numbers alone)
              for (int arg = -1; arg < (arch == archs[0] && x32 == 0 ? 6 : 0); arg++)
                for (size_t v = 0; v < (arg < 0 ? 1 : sizeof vals / sizeof vals[0]); v++)
                  for (size_t w = 0; w < (arg == 0 ? sizeof vals / sizeof vals[0] : 1); w++) {
                    uint32_t d[16] = {0};
                    d[0] = nr | x32;
                    d[1] = arch;
                    if (arg >= 0) {
                      d[4 + 2 * arg] = (uint32_t)vals[v];
                      d[5 + 2 * arg] = (uint32_t)(vals[v] >> 32);
                    }
                    if (arg == 0) {  // socket(domain, type): both at once
                      d[6] = (uint32_t)vals[w];
                      d[7] = (uint32_t)(vals[w] >> 32);
                    }
                    uint32_t t = RunFilter(tree, d), c = RunFilter(chain, d);
                    runs++;
                    differ += t != c;
                    denied += t != 0x7fff0000u;  // SECCOMP_RET_ALLOW
                    if (t != c) ADD_FAILURE() << "nr " << nr << " arch " << arch << " arg" << arg << ": tree "
                                              << t << ", chain " << c;
                    if (differ > 5) return;
                  }
        EXPECT_EQ(differ, 0u);
        EXPECT_GT(denied, runs / 100) << "the filter denies something";
      }
}


// ---- seccomp: what the filter decides for each rule of docs/csb-bwrap.md -----
//
// The escape suite shows these calls fail inside a sandbox, but for many of
// them (mount, init_module, kexec_load, ...) the kernel would refuse a
// process without capabilities anyway: here the filter itself is run.

#if defined(__x86_64__) || defined(__aarch64__)
#if defined(__x86_64__)
const uint32_t kNative = 0xc000003e;  // AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
const uint32_t kNative = 0xc00000b7;  // AUDIT_ARCH_AARCH64
#endif

const uint32_t kAllow = 0x7fff0000u, kKill = 0x80000000u;
const uint32_t kEperm = 0x00050000u | EPERM, kEnosys = 0x00050000u | ENOSYS;

struct Filter {
  std::vector<Insn> prog;
  explicit Filter(const bw_seccomp_opts &o) : prog(Export(o)) {}
  uint32_t Run(uint32_t arch, uint32_t nr, std::vector<uint64_t> args = {}) const {
    uint32_t d[16] = {0};
    d[0] = nr;
    d[1] = arch;
    for (size_t i = 0; i < args.size() && i < 6; i++) {
      d[4 + 2 * i] = (uint32_t)args[i];
      d[5 + 2 * i] = (uint32_t)(args[i] >> 32);
    }
    return RunFilter(prog, d);
  }
  uint32_t Call(long nr, std::vector<uint64_t> args = {}) const {
    return Run(kNative, (uint32_t)nr, std::move(args));
  }
};

// Options for a network mode and dangerously_allow_all_unix_sockets.
bw_seccomp_opts Opts(int net, int unix_all) {
  bw_seccomp_opts o;
  memset(&o, 0, sizeof o);
  o.net = (bw_seccomp_net)net;
  o.unix_all = unix_all;
  return o;
}

TEST(Seccomp, SyscallsNewerThanEveryRuleFailWithEnosys) {
  for (int net = 0; net < 3; net++)
    for (int unix_all = 0; unix_all < 2; unix_all++)
      for (int meta = 0; meta < 2; meta++) {
        bw_seccomp_opts o = Opts(net, unix_all);
        o.metadata_read_only = meta;
        Filter f(o);
        SCOPED_TRACE("net " + std::to_string(net) + " unix_all " + std::to_string(unix_all) + " meta " +
                     std::to_string(meta));
        for (uint32_t nr : {(uint32_t)BW_SECCOMP_FIRST_UNVETTED, 471u, 512u, 1023u, 0x3fffffffu})
          EXPECT_EQ(f.Call(nr), kEnosys) << nr;
        // the newest syscall a rule names keeps its own verdict
        EXPECT_EQ(f.Call(BW_SECCOMP_FIRST_UNVETTED - 1), meta ? kEperm : kAllow);
        EXPECT_EQ(f.Call(SYS_getpid), kAllow);
        EXPECT_EQ(f.Run(0x40000003 /* i386 */, BW_SECCOMP_FIRST_UNVETTED), kKill);
#if defined(__x86_64__)
        EXPECT_EQ(f.Call(0x40000000u | SYS_getpid), kKill) << "x32";
        EXPECT_EQ(f.Call(0x40000000u | BW_SECCOMP_FIRST_UNVETTED), kKill) << "x32";
#endif
      }
  // the guard alone (the filter bw_seccomp_install adds to libseccomp's)
  struct sock_filter g[16];
  size_t n = bw_seccomp_guard(g, 16);
  ASSERT_GT(n, 0u);
  EXPECT_EQ(bw_seccomp_guard(g, n - 1), 0u);
  std::vector<Insn> guard(n);
  memcpy(guard.data(), g, n * sizeof g[0]);
  uint32_t d[16] = {0};
  d[1] = kNative;
  d[0] = BW_SECCOMP_FIRST_UNVETTED;
  EXPECT_EQ(RunFilter(guard, d), kEnosys);
  d[0] = SYS_getpid;
  EXPECT_EQ(RunFilter(guard, d), kAllow);
  d[0] = 0x40000000u | BW_SECCOMP_FIRST_UNVETTED;
  EXPECT_EQ(RunFilter(guard, d), kAllow) << "x32: the other filter's to decide";
  d[0] = BW_SECCOMP_FIRST_UNVETTED;
  d[1] = 0x40000003;
  EXPECT_EQ(RunFilter(guard, d), kAllow) << "i386: the other filter's to decide";
}

// Without a PID namespace only Landlock ABI 6 keeps the command's signals
// from the caller's processes: older kernels are refused, whatever the
// network mode (checked as if the kernel had each ABI).
TEST(Landlock, AbiBelowSixIsRefused) {
  csb_policy *p = csb_policy_new(CSB_PLATFORM_LINUX, "/");
  csb_policy_add_entry(p, "/", CSB_ACCESS_READ, ":root", 0, 0);
  for (csb_net_mode net : {CSB_NET_ENABLED, CSB_NET_RESTRICTED}) {
    p->net_mode = net;
    csb_policy_view *v = nullptr;
    csb_error e;
    csb_error_clear(&e);
    ASSERT_TRUE(csb_policy_view_build(p, &v, &e)) << e.msg;
    char *why = bw_landlock_unsupported_on(p, v, 0);
    ASSERT_NE(why, nullptr);
    EXPECT_NE(strstr(why, "Landlock is not available"), nullptr) << why;
    free(why);
    for (int abi : {3, 4, 5}) {
      why = bw_landlock_unsupported_on(p, v, abi);
      ASSERT_NE(why, nullptr) << abi;
      std::string w = why;
      free(why);
      EXPECT_NE(w.find("Landlock ABI 6 (Linux 6.12) is needed to keep the command's signals"), std::string::npos) << w;
      EXPECT_NE(w.find("this kernel has ABI " + std::to_string(abi)), std::string::npos) << w;
      EXPECT_EQ(w.find("abstract Unix sockets") != std::string::npos, net == CSB_NET_RESTRICTED) << w;
      EXPECT_NE(w.find("use the bubblewrap backend"), std::string::npos) << w;
    }
    for (int abi : {6, 7}) {
      why = bw_landlock_unsupported_on(p, v, abi);
      EXPECT_EQ(why, nullptr) << abi << ": " << (why ? why : "");
      free(why);
    }
    csb_policy_view_free(v);
  }
  csb_policy_free(p);
}

// The legacy Landlock backend shares the caller's PID and IPC namespaces:
// no process but the command itself (pid 0) may be reniced, limited,
// pinned or rescheduled, and SysV IPC is refused. The bubblewrap backend
// (own namespaces) keeps them, but for pid 1.
TEST(Seccomp, SharedNamespacesGuardOtherProcesses) {
  const uint64_t high = 0xabcd000000000000ull;  // bits the kernel drops from an int
  for (int shared = 0; shared < 2; shared++)
    for (int linear = 0; linear < 2; linear++) {
      bw_seccomp_opts o = Opts(0, 0);
      o.metadata_read_only = 1;
      o.shared_namespaces = shared;
      o.linear = linear;
      Filter f(o);
      SCOPED_TRACE("shared " + std::to_string(shared) + " linear " + std::to_string(linear));
      const uint32_t other = shared ? kEperm : kAllow;
      const uint64_t pid = 4242;
      for (long nr : {(long)SYS_sched_setaffinity, (long)SYS_sched_setscheduler, (long)SYS_sched_setparam,
                      (long)SYS_sched_setattr, (long)SYS_migrate_pages, (long)SYS_move_pages}) {
        EXPECT_EQ(f.Call(nr, {pid, 0, 0}), other) << "syscall " << nr;
        EXPECT_EQ(f.Call(nr, {high | pid, 0, 0}), other) << "syscall " << nr;
        EXPECT_EQ(f.Call(nr, {0, 0, 0}), kAllow) << "syscall " << nr;
        // (pid 0 with bits the kernel drops set: refused too, stricter)
        EXPECT_EQ(f.Call(nr, {high, 0, 0}), other) << "syscall " << nr << " (pid 0, high bits)";
      }
      // pid 1, the bubblewrap backend's supervisor (pages: it is not dumpable)
      for (long nr : {(long)SYS_sched_setaffinity, (long)SYS_sched_setscheduler, (long)SYS_sched_setparam,
                      (long)SYS_sched_setattr})
        EXPECT_EQ(f.Call(nr, {1, 0, 0}), kEperm) << "syscall " << nr << " of pid 1";
      EXPECT_EQ(f.Call(SYS_prlimit64, {pid, 7, 0x1000, 0}), other);
      EXPECT_EQ(f.Call(SYS_prlimit64, {pid, 7, 0, 0x1000}), kAllow) << "reading another's limit";
      EXPECT_EQ(f.Call(SYS_prlimit64, {0, 7, 0x1000, 0}), kAllow);
      EXPECT_EQ(f.Call(SYS_setpriority, {0 /* PRIO_PROCESS */, pid, 19}), other);
      EXPECT_EQ(f.Call(SYS_setpriority, {0, 0, 19}), kAllow);
      EXPECT_EQ(f.Call(SYS_setpriority, {1 /* PRIO_PGRP */, pid, 19}), other);
      EXPECT_EQ(f.Call(SYS_setpriority, {2 /* PRIO_USER */, 0, 19}), kEperm);
      EXPECT_EQ(f.Call(SYS_ioprio_set, {1 /* IOPRIO_WHO_PROCESS */, pid, 3 << 13}), other);
      EXPECT_EQ(f.Call(SYS_ioprio_set, {1, 0, 3 << 13}), kAllow);
      EXPECT_EQ(f.Call(SYS_ioprio_set, {2 /* IOPRIO_WHO_PGRP */, pid, 3 << 13}), other);
      for (long nr : {(long)SYS_shmget, (long)SYS_shmat, (long)SYS_shmctl, (long)SYS_msgget, (long)SYS_msgsnd,
                      (long)SYS_msgrcv, (long)SYS_msgctl, (long)SYS_semget, (long)SYS_semop,
                      (long)SYS_semtimedop, (long)SYS_semctl, (long)SYS_mq_open, (long)SYS_mq_unlink,
                      (long)SYS_mq_timedsend, (long)SYS_mq_timedreceive, (long)SYS_mq_notify,
                      (long)SYS_mq_getsetattr})
        EXPECT_EQ(f.Call(nr, {0x1234, 4096, 0}), other) << "syscall " << nr;
    }
}

TEST(Seccomp, EveryDocumentedRuleDecides) {
  const uint64_t high = 0xabcd000000000000ull;  // bits the kernel drops from an int
  for (int net = 0; net < 3; net++)
    for (int unix_all = 0; unix_all < 2; unix_all++)
      for (int linear = 0; linear < 2; linear++) {
        bw_seccomp_opts o = Opts(net, unix_all);
        o.linear = linear;
        Filter f(o);
        SCOPED_TRACE("net " + std::to_string(net) + " unix_all " + std::to_string(unix_all) +
                     " linear " + std::to_string(linear));
        ASSERT_FALSE(f.prog.empty());
        const long always[] = {
            SYS_ptrace, SYS_process_vm_readv, SYS_process_vm_writev, SYS_io_uring_setup,
            SYS_io_uring_enter, SYS_io_uring_register, SYS_bpf, SYS_perf_event_open, SYS_userfaultfd,
            SYS_keyctl, SYS_add_key, SYS_request_key, SYS_mount, SYS_umount2, SYS_pivot_root,
            SYS_chroot, SYS_move_mount, SYS_open_tree, SYS_fsopen, SYS_fsconfig, SYS_fsmount,
            SYS_fspick, SYS_mount_setattr, SYS_unshare, SYS_setns, SYS_open_by_handle_at,
            SYS_name_to_handle_at, SYS_kexec_load, SYS_kexec_file_load, SYS_init_module,
            SYS_finit_module, SYS_delete_module, SYS_swapon, SYS_swapoff, SYS_reboot, SYS_acct,
            SYS_quotactl, SYS_syslog, SYS_settimeofday, SYS_clock_settime, SYS_clock_adjtime,
            SYS_adjtimex, SYS_sethostname, SYS_setdomainname, SYS_fanotify_init, 460 /* lsm_set_self_attr */,
            467 /* open_tree_attr */, SYS_quotactl_fd,
        };
        for (long nr : always) EXPECT_EQ(f.Call(nr), kEperm) << "syscall " << nr;
        // ... whatever the arguments
        for (long nr : always) EXPECT_EQ(f.Call(nr, {1, 2, 3, 4, 5, 6}), kEperm) << "syscall " << nr;
        // things a command needs stay allowed
        for (long nr : {(long)SYS_read, (long)SYS_write, (long)SYS_openat, (long)SYS_execve, (long)SYS_getpid})
          EXPECT_EQ(f.Call(nr, {3, 0, 0}), kAllow) << "syscall " << nr;

        // other architectures and the x32 ABI are killed
        EXPECT_EQ(f.Run(0x40000003 /* i386 */, 359 /* socket */), kKill);
        EXPECT_EQ(f.Run(0x40000003, 102 /* socketcall */, {1}), kKill);
        EXPECT_EQ(f.Run(0x40000003, 20 /* getpid */), kKill);
#if defined(__x86_64__)
        EXPECT_EQ(f.Call(0x40000000 | SYS_socket, {AF_INET, SOCK_STREAM}), kKill);
        EXPECT_EQ(f.Call(0x40000000 | SYS_getpid), kKill);
        EXPECT_EQ(f.Run(0xc00000b7 /* aarch64 */, 198 /* socket */), kKill);
#else
        EXPECT_EQ(f.Run(0xc000003e /* x86_64 */, 41 /* socket */), kKill);
#endif

        // clone with any namespace flag (also beside others and high bits)
        for (uint64_t fl : {0x00020000ull /* NEWNS */, 0x04000000ull /* NEWUTS */, 0x08000000ull /* NEWIPC */,
                            0x10000000ull /* NEWUSER */, 0x20000000ull /* NEWPID */, 0x40000000ull /* NEWNET */,
                            0x02000000ull /* NEWCGROUP */, 0x00000080ull /* NEWTIME */}) {
          EXPECT_EQ(f.Call(SYS_clone, {fl}), kEperm) << "clone flag " << fl;
          EXPECT_EQ(f.Call(SYS_clone, {fl | 0x011ull /* SIGCHLD */ | 0x100ull /* CLONE_VM */ | high}), kEperm)
              << "clone flag " << fl;
        }
        EXPECT_EQ(f.Call(SYS_clone, {0x011}), kAllow) << "fork";
        EXPECT_EQ(f.Call(SYS_clone, {0x3d0f00}), kAllow) << "pthread_create";
        EXPECT_EQ(f.Call(SYS_clone3), kEnosys);

        // terminal injection, compared on the low 32 bits
        for (uint64_t req : {0x5412ull /* TIOCSTI */, 0x541cull /* TIOCLINUX */, 0x5423ull /* TIOCSETD */,
                             0x540cull /* TIOCEXCL */}) {
          EXPECT_EQ(f.Call(SYS_ioctl, {0, req}), kEperm) << "ioctl " << req;
          EXPECT_EQ(f.Call(SYS_ioctl, {0, req | high}), kEperm) << "ioctl " << req << " with high bits";
          EXPECT_EQ(f.Call(SYS_ioctl, {0 | high, req | 0x100000000ull}), kEperm) << "ioctl " << req;
        }
        EXPECT_EQ(f.Call(SYS_ioctl, {0, 0x5413 /* TIOCGWINSZ */}), kAllow);
        EXPECT_EQ(f.Call(SYS_ioctl, {0, 0x541b /* FIONREAD */}), kAllow);

        // sockets every mode refuses: raw IP, packet, vsock, datagram Unix
        // (unless all Unix sockets are allowed), socketpair beyond AF_UNIX
        for (uint64_t fl : {(uint64_t)0, (uint64_t)0x80000 /* SOCK_CLOEXEC */, (uint64_t)0x800 /* SOCK_NONBLOCK */, high}) {
          EXPECT_EQ(f.Call(SYS_socket, {AF_INET, SOCK_RAW | fl, 1}), kEperm);
          EXPECT_EQ(f.Call(SYS_socket, {AF_INET6, SOCK_RAW | fl, 58}), kEperm);
          EXPECT_EQ(f.Call(SYS_socket, {AF_INET, SOCK_PACKET | fl}), kEperm);
          EXPECT_EQ(f.Call(SYS_socket, {AF_PACKET, SOCK_RAW | fl}), kEperm);
          EXPECT_EQ(f.Call(SYS_socket, {AF_PACKET, SOCK_DGRAM | fl}), kEperm);
          EXPECT_EQ(f.Call(SYS_socket, {40 /* AF_VSOCK */, SOCK_STREAM | fl}), kEperm);
          EXPECT_EQ(f.Call(SYS_socket, {40 | high, SOCK_STREAM | fl}), kEperm);
          EXPECT_EQ(f.Call(SYS_socketpair, {AF_INET, SOCK_STREAM | fl}), kEperm);
          EXPECT_EQ(f.Call(SYS_socketpair, {AF_UNIX, SOCK_STREAM | fl}), kAllow);
          for (uint64_t t : {(uint64_t)SOCK_DGRAM, (uint64_t)SOCK_RAW}) {
            EXPECT_EQ(f.Call(SYS_socket, {AF_UNIX, t | fl}), unix_all ? kAllow : kEperm);
            EXPECT_EQ(f.Call(SYS_socketpair, {AF_UNIX, t | fl}), unix_all ? kAllow : kEperm);
          }
        }

        // the families of each network mode
        uint32_t unix_stream = net == BW_SECCOMP_NET_RESTRICTED || unix_all ? kAllow : kEperm;
        uint32_t inet = net == BW_SECCOMP_NET_RESTRICTED ? kEperm : kAllow;
        uint32_t netlink_route = net == BW_SECCOMP_NET_ENABLED ? kAllow : kEperm;
        EXPECT_EQ(f.Call(SYS_socket, {AF_UNIX, SOCK_STREAM}), unix_stream);
        EXPECT_EQ(f.Call(SYS_socket, {AF_INET, SOCK_STREAM}), inet);
        EXPECT_EQ(f.Call(SYS_socket, {AF_INET, SOCK_DGRAM}), inet);
        EXPECT_EQ(f.Call(SYS_socket, {AF_INET6, SOCK_STREAM | SOCK_CLOEXEC}), inet);
        EXPECT_EQ(f.Call(SYS_socket, {AF_INET6, SOCK_DGRAM}), inet);
        EXPECT_EQ(f.Call(SYS_socket, {AF_NETLINK, SOCK_RAW, 0 /* NETLINK_ROUTE */}), netlink_route);
        EXPECT_EQ(f.Call(SYS_socket, {AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, 0}), netlink_route);
        for (uint64_t proto : {4ull /* SOCK_DIAG */, 9ull /* AUDIT */, 15ull /* KOBJECT_UEVENT */, 16ull, 21ull,
                               0x100000000ull /* SOCK_DIAG with high bits */ | 4})
          EXPECT_EQ(f.Call(SYS_socket, {AF_NETLINK, SOCK_RAW, proto}), kEperm) << "netlink " << proto;
        for (uint64_t fam : {3ull /* AX25 */, 4ull /* IPX */, 9ull /* X25 */, 30ull /* TIPC */, 21ull /* RDS */,
                             38ull /* ALG */, 41ull /* KCM */, 44ull /* XDP */, 45ull /* MCTP */, 46ull, 255ull,
                             0x80000000ull, 0xffffffffull})
          EXPECT_EQ(f.Call(SYS_socket, {fam, SOCK_STREAM}), kEperm) << "family " << fam;
        // restricted without an allow list: connect refused outright
        EXPECT_EQ(f.Call(SYS_connect, {3, 0, 16}),
                  net == BW_SECCOMP_NET_RESTRICTED && !unix_all ? kEperm : kAllow);
      }
}
#endif

}  // namespace seccomp_layout

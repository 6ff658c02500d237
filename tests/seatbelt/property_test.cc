// property_test.cc - for random policies and random paths, the file rules of
// the generated profile (run through a small SBPL interpreter) agree with
// libs/policy's verdict (csb_policy_access_for, through one evaluator):
//
//   file-read-data  allowed  <=>  verdict.can_read
//   file-write-data allowed  <=>  verdict.can_write
//
// except where a `:minimal` platform-default rule decides (the policy
// leaves those paths to the backend). Also checked: every profile passes
// sbpl_check, the directories above read-only carve-outs and deny-glob
// matches cannot be unlinked or renamed, and neither can writable roots.
//
// Two worlds: paths below a directory that does not exist (no host facts
// at all), and a real tree with .git directories, a `gitdir:` pointer
// file, .agents and .codex directories, so that the facts libs/policy
// probes for its views are exercised too.
//
// A missing directory between a writable root and a missing read-only
// carve-out below it cannot be created in the sandbox (a directory renamed
// there, or a symlink, would bring the carve-out along): writes at and
// below it may be denied where the verdict allows them, never the other
// way round, and creating it is denied wherever it could be created.
//
// Both worlds also on a case-insensitive volume (macOS's default): the
// command spells paths as it likes (`A`, `.GIT`, U+212A for k, U+00DF for
// ss, ...), the kernel reports an existing file under its stored name
// (sbpl_volume_path), and whatever the profile allows must be allowed by
// the verdict for the file that spelling names.
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "csb_paths.h"
#include "csb_policy.h"
#include "csb_sbpl.h"
#include "sbpl_eval.h"

namespace {

const std::vector<std::string> kTops = {"r", "s", "g"};
const std::vector<std::string> kSubs = {"a", "b", ".git", ".codex", ".agents", ".csb", "x.env", "wt"};
const std::vector<std::string> kGlobs = {"/r/**/*.env", "/*/x.env",  "/s/{a,b}",   "/r/?",
                                         "/[rs]/a/**",  "/**/.codex", "/g/w*",     "/r/a/x.env",
                                         "/s/*/.git",   "/r/[!a]/b",  "/*/{a/b,wt}/**"};

// Names an attacker may choose (workspace and file names): regex and SBPL
// string metacharacters, near misses of a pattern's literal parts, a
// prefix of another name, non-ASCII bytes. Globs escape them as needed.
const std::vector<std::string> kHostileTops = {"r", "r2", "q\"(t)", "b\\s.x"};
const std::vector<std::string> kHostileSubs = {"a.env", "aXenv", "a.env.bak", "p(1)|x", "[x]",
                                               "^$+{}",  "\xc3\xa9", ".git", "a"};
const std::vector<std::string> kHostileGlobs = {
    "/r/a.env",        "/r/**/a.env",     "/*/a.env*",     "/r/[]x]*",       "/r/[!a]*",
    "/r?/a.env",       "/r/a?env",        "/r/p(1)|x/**",  "/r/\\[x\\]",     "/*/^$+\\{\\}",
    "/q\"(t)/**/.git", "/b\\\\s.x/a.*", "/r/{a.env,[x]}/*", "/*/\xc3\xa9/a*", "/r/[-.]*"};

struct World {
  std::string base;
  bool real = false;
  const std::vector<std::string> *tops = &kTops;
  const std::vector<std::string> *subs = &kSubs;
  const std::vector<std::string> *globs = &kGlobs;
  unsigned glob_odds = 4; // one policy in glob_odds has deny globs
  // Other spellings of the names in subs, in the universe only (never in
  // a policy), and the volume they are looked up on: case-insensitive,
  // holding `existing` (absolute paths as stored).
  const std::vector<std::string> *variants = nullptr;
  bool case_insensitive = false;
  std::vector<std::string> existing = {};
};

// Paths below the `:minimal` platform roots (read-only system files): the
// platform defaults may grant them where the policy has no rule, never
// where it denies them.
const std::vector<std::string> kPlatformDirs = {"/etc/ssh", "/usr/lib", "/usr/share/dict",
                                                "/Applications"};
const std::vector<std::string> kPlatformPaths = {
    "/etc/ssh/ssh_config", "/etc/hosts", "/usr/lib/x.dylib", "/usr/lib/sub/y.dylib",
    "/usr/share/dict/words", "/Applications/A.app/x"};

// The world's base directory as a path ("/" for a world at the root).
std::string BasePath(const World &w) { return w.base.empty() ? "/" : w.base; }

std::vector<std::string> Universe(const World &w) {
  const std::string &base = w.base;
  const auto &kTops = *w.tops;
  const auto &kSubs = *w.subs;
  std::vector<std::string> out = {BasePath(w)};
  out.insert(out.end(), kPlatformPaths.begin(), kPlatformPaths.end());
  std::vector<std::string> names = kSubs;
  if (w.variants != nullptr) names.insert(names.end(), w.variants->begin(), w.variants->end());
  for (const auto &t : kTops) {
    std::string p1 = base + "/" + t;
    out.push_back(p1);
    for (const auto &s1 : names) {
      std::string p2 = p1 + "/" + s1;
      out.push_back(p2);
      for (const auto &s2 : names) {
        out.push_back(p2 + "/" + s2);
        if (s2 == "a") out.push_back(p2 + "/a/deep");
      }
    }
  }
  return out;
}

struct Stats {
  long policies = 0, decisions = 0, platform_skips = 0, unlink_checks = 0;
  long can_write = 0, can_read = 0, denied = 0, below_file = 0;
  long refused = 0;          // non-ASCII missing names (csb-seatbelt refuses them)
  long uncreatable = 0;      // decisions at or below an uncreatable directory
  long uncreatable_denied = 0;  // creations of one checked denied
  long other_spellings = 0;  // decisions on a spelling that names another path
  long folded_denials = 0;   // writes denied only because of that
  long exec_denied = 0;      // paths a deny entry or glob keeps from running
  long glob_spellings = 0;   // spellings denied because another one matches a glob
};

class PolicyGen {
 public:
  PolicyGen(const World &w, unsigned seed) : w_(w), rng_(seed), universe_(Universe(w)) {}

  std::string RandomPath(int max_depth) {
    const auto &kTops = *w_.tops;
    const auto &kSubs = *w_.subs;
    std::string p = w_.base + "/" + kTops[rng_() % kTops.size()];
    int d = rng_() % (max_depth + 1);
    for (int i = 0; i < d; i++) p += "/" + kSubs[rng_() % kSubs.size()];
    return p;
  }

  csb_policy *Make() {
    static const char *cwds[] = {"", "/r", "/s", "/r/a", "/g/wt"};
    std::string cwd = w_.base + cwds[rng_() % 5];
    if (cwd.empty()) cwd = "/";
    csb_policy *p = csb_policy_new(CSB_PLATFORM_MACOS, cwd.c_str());
    int r = rng_() % 100;
    if (r < 55)
      csb_policy_add_entry(p, "/", CSB_ACCESS_READ, ":root", 0, 0);
    else if (r < 65)
      csb_policy_add_entry(p, "/", CSB_ACCESS_WRITE, ":root", 0, 0);
    else if (r < 70)
      csb_policy_add_entry(p, "/", CSB_ACCESS_DENY, ":root", 0, 0);
    int n = 1 + rng_() % 6;
    for (int i = 0; i < n; i++) {
      int a = rng_() % 10;
      csb_access acc = a < 4 ? CSB_ACCESS_READ : a < 8 ? CSB_ACCESS_WRITE : CSB_ACCESS_DENY;
      int where = rng_() % 16;
      std::string path = where < 2   ? BasePath(w_)
                         : where < 4 ? kPlatformDirs[rng_() % kPlatformDirs.size()]
                                     : RandomPath(2);
      csb_policy_add_entry(p, path.c_str(), acc, "random", rng_() % 2, 0);
    }
    int ng = rng_() % w_.glob_odds == 0 ? 1 + rng_() % 2 : 0;
    for (int i = 0; i < ng; i++) {
      std::string g = w_.base + (*w_.globs)[rng_() % w_.globs->size()];
      csb_policy_add_glob(p, g.c_str(), "random");
    }
    p->include_platform_defaults = rng_() % 4 == 0;
    int e = rng_() % 40;
    if (e == 0) p->enforcement = CSB_ENFORCE_EXTERNAL;
    if (e == 1) p->fs_kind = CSB_FS_UNRESTRICTED;
    csb_policy_canonicalize(p);
    return p;
  }

  const std::vector<std::string> &universe() const { return universe_; }

 private:
  World w_;
  std::mt19937 rng_;
  std::vector<std::string> universe_;
};

std::string Describe(const csb_policy *p) {
  char *j = csb_policy_to_json(p);
  std::string s = j;
  free(j);
  return s;
}

bool BelowAFile(const std::string &path) {
  struct stat sb;
  for (size_t i = path.find('/', 1); i != std::string::npos; i = path.find('/', i + 1))
    if (lstat(path.substr(0, i).c_str(), &sb) == 0 && !S_ISDIR(sb.st_mode)) return true;
  return false;
}

bool UnlinkDenied(const sbpl_program *prog, const std::vector<const char *> &params,
                  const std::string &dir) {
  sbpl_decision d;
  sbpl_decide(prog, params.data(), params.size(), "file-write-unlink", dir.c_str(), "DIRECTORY", &d);
  return !d.allowed;
}

bool Exists(const std::string &path) {
  struct stat sb;
  return lstat(path.c_str(), &sb) == 0;
}

std::string Parent(const std::string &path) {
  char *p = csb_path_parent(path.c_str());
  std::string s = p != nullptr ? p : "";
  free(p);
  return s;
}

bool Under(const std::string &prefix, const std::string &path) {
  return csb_path_is_under(prefix.c_str(), path.c_str()) != 0;
}

// The missing directories between writable roots and the missing read-only
// carve-outs below them that the sandbox may not create: for a carve-out
// X strictly under writable root R whose deepest existing ancestor is E,
// the component of X right below E, or right below R when R's parent is
// missing too (then R's rule cannot create it), unless that is X itself.
// *creatable gets those whose parent exists (the command could create
// them but for the profile).
std::vector<std::string> Uncreatable(const csb_policy_view *v, std::vector<std::string> *creatable) {
  std::vector<std::string> out;
  for (size_t i = 0; i < v->n_writable; i++) {
    std::string r = v->writable[i].root;
    for (size_t k = 0; k < v->n_writable; k++) {
      const csb_strv &xs = v->writable[k].read_only_subpaths;
      for (size_t j = 0; j < xs.len; j++) {
        std::string x = xs.items[j];
        if (!csb_path_is_strictly_under(r.c_str(), x.c_str()) || Exists(x)) continue;
        std::string e = Parent(x);
        while (e != "/" && !Exists(e)) e = Parent(e);
        bool parent_exists = r == "/" || Under(Parent(r), e);
        std::string b = parent_exists ? e : r;
        const char *rest = csb_path_rest_under(b.c_str(), x.c_str());
        while (*rest == '/') rest++;
        std::string m = (b == "/" ? "" : b) + "/" + std::string(rest, strcspn(rest, "/"));
        if (m == x) continue;
        out.push_back(m);
        if (parent_exists) creatable->push_back(m);
      }
    }
  }
  return out;
}

// The glob `g` matching every ASCII case variant of the paths it matches
// (what the profile's regex of it matches, but for the characters outside
// ASCII that fold to ASCII): each literal letter a class of both cases,
// each class with the other case of its letters (a negated class stops
// excluding a letter whose other case it does not exclude).
std::string CaseClosed(const std::string &g) {
  std::string out;
  auto letter_class = [](unsigned char c) {
    return std::string("[") + (char)tolower(c) + (char)toupper(c) + "]";
  };
  for (size_t i = 0; i < g.size(); i++) {
    unsigned char c = (unsigned char)g[i];
    if (c == '\\' && i + 1 < g.size()) {
      unsigned char e = (unsigned char)g[++i];
      out += isalpha(e) ? letter_class(e) : std::string("\\") + (char)e;
      continue;
    }
    if (isalpha(c)) {
      out += letter_class(c);
      continue;
    }
    if (c != '[') {
      out += (char)c;
      continue;
    }
    size_t j = i + 1;
    bool neg = j < g.size() && (g[j] == '!' || g[j] == '^');
    if (neg) j++;
    size_t start = j;
    if (j < g.size() && g[j] == ']') j++;
    size_t end = g.find(']', j);
    if (end == std::string::npos) {
      out += "\\[";
      continue;
    }
    bool set[256] = {false};
    for (size_t k = start; k < end; k++) {
      unsigned lo = (unsigned char)g[k], hi = lo;
      if (k + 2 < end && g[k + 1] == '-') {
        hi = (unsigned char)g[k + 2];
        k += 2;
      }
      for (unsigned x = lo; x <= hi; x++) set[x] = true;
    }
    if (neg)
      for (unsigned x = 1; x < 256; x++) set[x] = !set[x] && x != '/';
    set[0] = false;
    for (unsigned x = 'a'; x <= 'z'; x++)
      if (set[x] || set[x - 'a' + 'A']) set[x] = set[x - 'a' + 'A'] = true;
    // Members: ']' first, '!' and '^' never first, '-' last; a set of
    // those alone as escaped alternatives.
    std::string mem;
    if (set[']']) mem += ']';
    for (unsigned x = 1; x < 256; x++)
      if (set[x] && x != ']' && x != '-' && x != '!' && x != '^') mem += (char)x;
    if (mem.empty()) {
      std::string alts;
      for (char x : {'!', '^', '-'})
        if (set[(unsigned char)x]) alts += std::string(alts.empty() ? "" : ",") + "\\" + x;
      out += "{" + alts + "}";
    } else {
      if (set['!']) mem += '!';
      if (set['^']) mem += '^';
      if (set['-']) mem += '-';
      out += "[" + mem + "]";
    }
    i = end;
  }
  return out;
}

void CheckOne(csb_policy *p, const World &w, const std::vector<std::string> &universe,
              const csb_sbpl_host *host, Stats *st) {
  csb_policy_view *v = nullptr;
  csb_error err;
  csb_error_clear(&err);
  ASSERT_TRUE(csb_policy_view_build(p, &v, &err)) << err.msg;
  csb_sbpl_profile *prof = nullptr;
  if (!csb_sbpl_generate(p, v, host, nullptr, &prof, &err)) {
    // Refused only for a non-ASCII name no rule can spell in every way
    // (a path's or a deny glob's).
    bool non_ascii = false;
    for (size_t i = 0; i < p->n_entries; i++)
      for (const char *c = p->entries[i].path; *c; c++) non_ascii |= (unsigned char)*c >= 0x80;
    for (size_t i = 0; i < p->n_globs; i++)
      for (const char *c = p->globs[i].pattern; *c; c++) non_ascii |= (unsigned char)*c >= 0x80;
    ASSERT_TRUE(non_ascii && strstr(err.msg, "non-ASCII") != nullptr) << err.msg << "\n" << Describe(p);
    st->refused++;
    csb_policy_view_free(v);
    return;
  }
  std::vector<const char *> params(prof->params.items, prof->params.items + prof->params.len);
  char perr[1024] = "";
  sbpl_program *prog = sbpl_parse(prof->text, perr, sizeof perr);
  ASSERT_NE(prog, nullptr) << perr << "\n" << prof->text;
  ASSERT_TRUE(sbpl_check(prog, params.data(), params.size(), perr, sizeof perr))
      << perr << "\n" << prof->text;
  st->policies++;
  // One evaluator for the whole universe (freed however the loop ends).
  std::unique_ptr<csb_policy_evaluator, void (*)(csb_policy_evaluator *)> ev(
      csb_policy_evaluator_new(p), csb_policy_evaluator_free);
  std::vector<std::string> creatable;
  std::vector<std::string> uncreatable = Uncreatable(v, &creatable);
  // On a case-insensitive volume: the files that exist (as stored), and
  // the spellings the policy gives paths (which the verdict is about).
  std::vector<const char *> existing, known;
  std::vector<std::string> named;
  for (const auto &e : w.existing) existing.push_back(e.c_str());
  for (size_t i = 0; i < p->n_entries; i++)
    for (std::string a = p->entries[i].path; a != "/" && !a.empty(); a = Parent(a)) named.push_back(a);
  std::map<std::string, std::set<std::string>> named_folded;  // folded -> spellings
  for (const auto &n : named) {
    char *f = sbpl_fold(n.c_str());
    named_folded[f].insert(n);
    free(f);
  }
  known = existing;
  for (const auto &n : named) known.push_back(n.c_str());
  // The spellings of each path of the universe (by its folded form), and
  // the deny globs the profile enforces: on a case-insensitive volume a glob matching
  // one spelling of a name denies the file every spelling names.
  std::map<std::string, std::vector<std::string>> spellings;
  for (const auto &u : universe) {
    char *f = sbpl_fold(u.c_str());
    spellings[f].push_back(u);
    free(f);
  }
  std::vector<std::unique_ptr<csb_glob, void (*)(csb_glob *)>> globs, closed_globs;
  for (size_t i = 0; i < v->unreadable_globs.len; i++) {
    csb_glob *gl = nullptr;
    ASSERT_TRUE(csb_glob_compile(v->unreadable_globs.items[i], &gl, nullptr));
    globs.emplace_back(gl, csb_glob_free);
    std::string closed = CaseClosed(v->unreadable_globs.items[i]);
    ASSERT_TRUE(csb_glob_compile(closed.c_str(), &gl, nullptr)) << closed;
    closed_globs.emplace_back(gl, csb_glob_free);
  }
  std::unique_ptr<sbpl_volume, void (*)(sbpl_volume *)> volume(
      sbpl_volume_new(existing.data(), existing.size()), sbpl_volume_free);
  std::unique_ptr<sbpl_volume, void (*)(sbpl_volume *)> names(
      sbpl_volume_new(known.data(), known.size()), sbpl_volume_free);
  for (const auto &spelled : universe) {
    // Nothing can exist below a file: Seatbelt grants a file root as a
    // literal, the lexical verdict its (impossible) subtree too.
    if (BelowAFile(spelled)) {
      st->below_file++;
      continue;
    }
    // The path Seatbelt sees, and the one the verdict is asked about: on
    // a case-insensitive volume, the path the policy names in the spelling
    // used. Elsewhere the verdict is lexical, and the profile may still
    // deny a path that spells another path of the policy differently
    // (the profile is the same for either kind of volume).
    std::string seen = spelled, path = spelled;
    char *s2 = sbpl_volume_path(names.get(), spelled.c_str());
    bool other_spelling = spelled != s2;
    if (w.case_insensitive) {
      char *s1 = sbpl_volume_path(volume.get(), spelled.c_str());
      seen = s1;
      path = s2;
      free(s1);
    }
    free(s2);
    csb_verdict vd;
    csb_policy_evaluator_access_for(ev.get(), path.c_str(), &vd);
    sbpl_decision rd, wd;
    sbpl_decide(prog, params.data(), params.size(), "file-read-data", seen.c_str(),
                "REGULAR-FILE", &rd);
    sbpl_decide(prog, params.data(), params.size(), "file-write-data", seen.c_str(),
                "REGULAR-FILE", &wd);
    // Running a file reads it (a process can read the image it runs):
    // what a deny entry or glob makes unreadable does not run, whatever
    // spelling the command uses.
    sbpl_decision xd;
    sbpl_decide(prog, params.data(), params.size(), "process-exec", seen.c_str(), "REGULAR-FILE",
                &xd);
    bool denied_by_rule = vd.reason == CSB_REASON_DENY_GLOB ||
                          (vd.reason == CSB_REASON_ENTRY && vd.access == CSB_ACCESS_DENY &&
                           strcmp(p->entries[vd.entry].path, "/") != 0);
    if (denied_by_rule) {
      ASSERT_FALSE(xd.allowed) << "exec " << spelled << " (" << path << ", rule " << xd.rule
                               << ")\n" << Describe(p) << prof->text;
      st->exec_denied++;
    }
    // A deny glob matching another spelling of the same name (`x.env`
    // for a file stored or spelled `X.ENV`): on a case-insensitive volume
    // the policy denies that name, so no spelling of it is readable,
    // writable or runs (the profile is the same for either kind of
    // volume, so also where the verdict is lexical).
    bool glob_denied = false;
    if (!globs.empty()) {
      char *f = sbpl_fold(path.c_str());
      for (const auto &u : spellings[f])
        for (const auto &gl : globs) glob_denied |= csb_glob_match(gl.get(), u.c_str()) != 0;
      free(f);
      if (glob_denied) {
        for (const sbpl_decision *d : {&rd, &wd, &xd})
          ASSERT_FALSE(d->allowed) << (d == &rd ? "read " : d == &wd ? "write " : "exec ") << spelled << " (" << seen << ", rule " << d->rule
                                   << "): another spelling matches a deny glob\n"
                                   << Describe(p) << prof->text;
        st->glob_spellings++;
      }
    }
    bool below_uncreatable = false;
    for (const auto &m : uncreatable) below_uncreatable |= Under(m, path);
    for (const auto &m : creatable) {
      if (m != path) continue;
      sbpl_decision cd;
      sbpl_decide(prog, params.data(), params.size(), "file-write-create", seen.c_str(),
                  "DIRECTORY", &cd);
      ASSERT_FALSE(cd.allowed) << "creating " << spelled << " (above a missing carve-out)\n"
                               << Describe(p) << prof->text;
      st->uncreatable_denied++;
    }
    st->uncreatable += below_uncreatable;
    st->other_spellings += other_spelling;
    if (other_spelling && !wd.allowed && vd.can_write) {
      csb_verdict lex;
      csb_policy_evaluator_access_for(ev.get(), spelled.c_str(), &lex);
      st->folded_denials += lex.can_write;
    }
    st->decisions += 2;
    st->can_write += vd.can_write;
    st->can_read += vd.can_read;
    st->denied += !vd.can_read;
    bool plat_r = strncmp(rd.section, "platform defaults", 17) == 0;
    bool plat_w = strncmp(wd.section, "platform defaults", 17) == 0;
    st->platform_skips += plat_r + plat_w;
    // A platform default may grant what no rule covers (a deny of "/" is
    // the default, not a rule about these paths), never what a rule denies.
    bool ruled_out = vd.reason == CSB_REASON_DENY_GLOB ||
                     (vd.reason == CSB_REASON_ENTRY && vd.access == CSB_ACCESS_DENY &&
                      strcmp(p->entries[vd.entry].path, "/") != 0);
    if (plat_r && rd.allowed) {
      ASSERT_FALSE(ruled_out) << "platform default re-opens " << path << "\n"
                              << Describe(p) << prof->text;
    }
    if (plat_w && wd.allowed) {
      ASSERT_FALSE(ruled_out || vd.can_read) << "platform default grants a write to " << path;
    }
    // Another spelling of a path, or a path below a directory the sandbox
    // cannot create: the profile may deny more than the verdict, never
    // less. Elsewhere they agree.
    // The policy naming the same file (on a case-insensitive volume) in
    // two spellings, such as a deny entry `.cſb` and a read below `.CSB`:
    // every spelling of a carve-out stays carved out, so there too.
    bool twice_named = false;
    for (std::string a = path; a != "/" && !a.empty() && !twice_named; a = Parent(a)) {
      char *fa = sbpl_fold(a.c_str());
      auto it = named_folded.find(fa);
      free(fa);
      twice_named = it != named_folded.end() && (it->second.size() > 1 || !it->second.count(a));
    }
    // The profile denies a name a deny glob matches in any spelling,
    // where the lexical verdict may allow it.
    bool closed_match = false;
    for (const std::string &s : {seen, path}) {
      char *f = sbpl_fold(s.c_str());
      for (const auto &gl : closed_globs)
        closed_match |= csb_glob_match(gl.get(), s.c_str()) || csb_glob_match(gl.get(), f);
      free(f);
    }
    bool at_most = other_spelling || below_uncreatable || twice_named || glob_denied || closed_match;
    // Reading another spelling of a missing path reads nothing: the
    // command cannot create it in any spelling (checked with the writes).
    auto agrees = [&](const char *op, const sbpl_decision &d, bool verdict) {
      if (at_most)
        ASSERT_TRUE(!d.allowed || verdict)
            << op << " " << spelled << " (" << path << ", rule " << d.rule << ", " << d.section << ")\n"
            << Describe(p) << prof->text;
      else
        ASSERT_EQ(d.allowed != 0, verdict)
            << op << " " << path << " (rule " << d.rule << ", " << d.section << ")\n" << Describe(p) << prof->text;
    };
    if (!plat_r && !(other_spelling && !Exists(seen))) agrees("read", rd, vd.can_read != 0);
    if (testing::Test::HasFatalFailure()) return;
    if (!plat_w) agrees("write", wd, vd.can_write != 0);
    if (testing::Test::HasFatalFailure()) return;
  }
  // Renaming the directories above a read-only carve-out would move it
  // out from under its rule: they, and writable roots, stay in place.
  for (size_t i = 0; i < v->n_writable; i++) {
    const csb_writable_root *w = &v->writable[i];
    ASSERT_TRUE(UnlinkDenied(prog, params, w->root)) << w->root << "\n" << prof->text;
    st->unlink_checks++;
    for (size_t k = 0; k < w->read_only_subpaths.len; k++) {
      std::string x = w->read_only_subpaths.items[k];
      if (!csb_path_is_strictly_under(w->root, x.c_str())) continue;
      for (char *a = csb_path_parent(x.c_str()); a != nullptr;) {
        bool in = csb_path_is_under(w->root, a) != 0;
        if (in) {
          EXPECT_TRUE(UnlinkDenied(prog, params, a)) << a << " above " << x << "\n" << prof->text;
          st->unlink_checks++;
        }
        char *up = csb_path_parent(a);
        free(a);
        a = in ? up : (free(up), nullptr);
      }
    }
  }
  // The same for the ancestors of every path a deny glob matches.
  for (size_t g = 0; g < v->unreadable_globs.len; g++) {
    csb_glob *gl = nullptr;
    ASSERT_TRUE(csb_glob_compile(v->unreadable_globs.items[g], &gl, nullptr));
    for (const auto &path : universe) {
      if (!csb_glob_match(gl, path.c_str())) continue;
      char *a = csb_path_parent(path.c_str());
      while (a != nullptr && strcmp(a, "/") != 0) {
        EXPECT_TRUE(UnlinkDenied(prog, params, a)) << a << " above glob match " << path;
        st->unlink_checks++;
        char *up = csb_path_parent(a);
        free(a);
        a = up;
      }
      free(a);
    }
    csb_glob_free(gl);
  }
  sbpl_free(prog);
  csb_sbpl_profile_free(prof);
  csb_policy_view_free(v);
}

// Sanitizer builds (--config=asan sets ASAN_OPTIONS for tests) run a
// quarter of the iterations to stay within the test timeout.
int Scaled(int n) { return getenv("ASAN_OPTIONS") != nullptr ? n / 4 : n; }

void PrintStats(const Stats &st) {
  printf("policies %ld (refused %ld), decisions %ld, platform-default decisions skipped %ld, "
         "unlink checks %ld, paths below a file skipped %ld, below an uncreatable directory %ld "
         "(creations denied %ld), other spellings %ld (writes denied for that %ld), execs denied "
         "%ld, spellings denied by a glob matching another %ld\n",
         st.policies, st.refused, st.decisions, st.platform_skips, st.unlink_checks, st.below_file,
         st.uncreatable, st.uncreatable_denied, st.other_spellings, st.folded_denials,
         st.exec_denied, st.glob_spellings);
}

void RunWorld(const World &w, unsigned seed, int iterations, Stats *st) {
  PolicyGen gen(w, seed);
  const csb_sbpl_host *host = csb_sbpl_host_system(0);
  for (int i = 0; i < iterations && !testing::Test::HasFatalFailure(); i++) {
    csb_policy *p = gen.Make();
    CheckOne(p, w, gen.universe(), host, st);
    csb_policy_free(p);
  }
}

TEST(Property, NothingExists) {
  Stats st;
  World w{"/nonexistent-csb-property", false};
  struct stat sb;
  ASSERT_NE(lstat(w.base.c_str(), &sb), 0);
  RunWorld(w, 20260101, Scaled(800), &st);
  printf("policies %ld, decisions %ld, platform-default decisions skipped %ld, unlink checks %ld\n",
         st.policies, st.decisions, st.platform_skips, st.unlink_checks);
  EXPECT_EQ(st.policies, Scaled(800));
  EXPECT_GT(st.can_write, Scaled(5000));
  EXPECT_GT(st.can_read, Scaled(25000));
  EXPECT_GT(st.denied, Scaled(5000));
}

TEST(Property, HostileNames) {
  Stats st;
  World w{"/nonexistent-csb-property", false, &kHostileTops, &kHostileSubs, &kHostileGlobs, 2};
  RunWorld(w, 4242, Scaled(600), &st);
  PrintStats(st);
  EXPECT_EQ(st.policies + st.refused, Scaled(600));
  EXPECT_GT(st.policies, Scaled(400));
  EXPECT_GT(st.can_write, Scaled(5000));
  EXPECT_GT(st.denied, Scaled(5000));
}

// A world at / itself (a workspace at /, `csb-resolve -C /`): the
// protected names directly below / (/.git, /.codex, ...) and writable
// roots that are ancestors of every other root.
const std::vector<std::string> kSlashTops = {"nonexistent-csb-property-r", ".git", ".codex",
                                             ".agents", ".csb", "nonexistent-csb-property-s"};

TEST(Property, WorldAtSlash) {
  for (const auto &t : kSlashTops) {
    struct stat sb;
    ASSERT_NE(lstat(("/" + t).c_str(), &sb), 0) << "/" << t << " exists on this host";
  }
  Stats st;
  World w{"", false, &kSlashTops};
  RunWorld(w, 31337, Scaled(800), &st);
  printf("policies %ld, decisions %ld, platform-default decisions skipped %ld, unlink checks %ld\n",
         st.policies, st.decisions, st.platform_skips, st.unlink_checks);
  EXPECT_EQ(st.policies, Scaled(800));
  EXPECT_GT(st.can_write, Scaled(3000));
  EXPECT_GT(st.denied, Scaled(3000));
}

// macOS file systems ignore case: other spellings of the protected names
// (and U+017F, which case-folds to s) are protected metadata as well, in
// the verdict and in the profile alike.
const std::vector<std::string> kCaseSubs = {"a",     ".git",  ".GIT",  ".Git",        ".codex",
                                            ".Codex", ".CSB", ".agentS", ".c\xc5\xbf" "b", "wt"};

TEST(Property, ProtectedNamesInAnyCase) {
  Stats st;
  World w{"/nonexistent-csb-property", false, &kTops, &kCaseSubs};
  RunWorld(w, 1717, Scaled(800), &st);
  PrintStats(st);
  EXPECT_EQ(st.policies, Scaled(800));
  EXPECT_GT(st.can_write, Scaled(3000));
  EXPECT_GT(st.denied, Scaled(3000));
}

// A case-insensitive volume: policies name paths in one spelling, the
// command uses others. A missing read-only path below a writable root must
// not be creatable in any of them (creating `A` creates what the policy
// calls `a`); an existing one is reported under its stored name.
const std::vector<std::string> kFoldSubs = {"a", "kb", "sst", ".git", ".codex", "wt"};
const std::vector<std::string> kFoldVariants = {
    "A",    "\xe2\x84\xaa" "b" /* U+212A */,    "KB",  "\xc3\x9f" "t" /* U+00DF */,
    "S\xef\xac\x86" /* U+FB06 */, "s\xc5\xbf" "T" /* U+017F */, "\xe1\xba\x9e" "T" /* U+1E9E */,
    ".GIT", ".CODEX", "Wt"};


TEST(Property, CaseInsensitiveVolumeNothingExists) {
  Stats st;
  World w{"/nonexistent-csb-property", false, &kTops, &kFoldSubs, &kGlobs, 1u << 30,
          &kFoldVariants, true, {}};
  RunWorld(w, 9091, Scaled(600), &st);
  PrintStats(st);
  EXPECT_EQ(st.policies, Scaled(600));
  EXPECT_GT(st.other_spellings, Scaled(20000));
  EXPECT_GT(st.folded_denials, Scaled(2000));
  EXPECT_GT(st.uncreatable, Scaled(2000));
}

// Deny globs on a case-insensitive volume: a glob denies every spelling of
// the names it matches (`/s/?b` denies `KB` and the `Kb` spelled with
// U+212A, `/r/SST` the `ẞT` spelled with U+1E9E), literal parts, `?` and
// classes alike.
const std::vector<std::string> kFoldGlobs = {"/r/**/sst", "/s/KB/**", "/*/k*",  "/*/*b",  "/g/[A-Z]t",
                                             "/s/?b",     "/r/SST",   "/[RS]/a", "/*/{A,wt}/**",
                                             "/r/[!a]/a", "/**/.CODEX"};

TEST(Property, CaseInsensitiveVolumeDenyGlobs) {
  Stats st;
  World w{"/nonexistent-csb-property", false, &kTops, &kFoldSubs, &kFoldGlobs, 1,
          &kFoldVariants, true, {}};
  RunWorld(w, 6061, Scaled(200), &st);
  PrintStats(st);
  EXPECT_EQ(st.policies, Scaled(200));
  EXPECT_GT(st.glob_spellings, Scaled(4000));
  EXPECT_GT(st.exec_denied, Scaled(4000));
}

// A fresh directory under TEST_TMPDIR (else /tmp), by its canonical path;
// "" when it cannot be made.
static std::string NewTempDir() {
  const char *tmp = getenv("TEST_TMPDIR");
  std::string t = std::string(tmp ? tmp : "/tmp") + "/propXXXXXX";
  std::vector<char> buf(t.begin(), t.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) return "";
  char *real = realpath(buf.data(), nullptr);
  std::string out = real ? real : "";
  free(real);
  return out;
}


// Makes the directories `dirs` under w->base; with `known`, also records
// them, and w->base's ancestors, as existing in the world's model.
::testing::AssertionResult MakeTree(World *w, std::initializer_list<const char *> dirs, bool known) {
  if (known)
    for (std::string a = w->base; a != "/"; a = Parent(a)) w->existing.push_back(a);
  for (const char *d : dirs) {
    if (mkdir((w->base + d).c_str(), 0755) != 0) return ::testing::AssertionFailure() << "mkdir " << d;
    if (known) w->existing.push_back(w->base + d);
  }
  return ::testing::AssertionSuccess();
}

TEST(Property, CaseInsensitiveVolumeRealTree) {
  std::string real = NewTempDir();
  ASSERT_FALSE(real.empty());
  World w{real, true, &kTops, &kFoldSubs, &kGlobs, 1u << 30, &kFoldVariants, true, {}};
  ASSERT_TRUE(MakeTree(&w, {"/r", "/r/a", "/r/.git", "/r/sst", "/s", "/s/kb", "/s/kb/a", "/g", "/g/wt"}, true));
  Stats st;
  RunWorld(w, 5150, Scaled(80), &st);
  PrintStats(st);
  EXPECT_EQ(st.policies, Scaled(80));
  EXPECT_GT(st.folded_denials, Scaled(40));
  EXPECT_GT(st.uncreatable_denied, Scaled(8));
  (void)!system(("rm -rf '" + w.base + "'").c_str());
}

TEST(Property, CaseInsensitiveVolumeDenyGlobsRealTree) {
  std::string real = NewTempDir();
  ASSERT_FALSE(real.empty());
  World w{real, true, &kTops, &kFoldSubs, &kFoldGlobs, 1, &kFoldVariants, true, {}};
  ASSERT_TRUE(MakeTree(&w, {"/r", "/r/A", "/r/sst", "/s", "/s/KB", "/s/KB/a", "/g", "/g/Wt"}, true));
  Stats st;
  RunWorld(w, 8080, Scaled(40), &st);
  PrintStats(st);
  EXPECT_EQ(st.policies, Scaled(40));
  EXPECT_GT(st.glob_spellings, Scaled(400));
  (void)!system(("rm -rf '" + w.base + "'").c_str());
}

TEST(Property, RealTreeWithMetadata) {
  std::string real = NewTempDir();
  ASSERT_FALSE(real.empty());
  World w{real, true};
  ASSERT_TRUE(MakeTree(&w,
                       {"/r", "/r/.git", "/r/.agents", "/r/a", "/r/a/.git", "/s", "/s/.codex", "/g", "/g/wt",
                        "/g/a", "/g/a/.csb"},
                       false));
  // s/.git points at g/wt (a worktree-style gitdir: pointer).
  FILE *f = fopen((w.base + "/s/.git").c_str(), "w");
  ASSERT_NE(f, nullptr);
  fputs("gitdir: ../g/wt\n", f);
  fclose(f);
  Stats st;
  RunWorld(w, 777, Scaled(400), &st);
  PrintStats(st);
  EXPECT_EQ(st.policies, Scaled(400));
  EXPECT_GT(st.uncreatable_denied, Scaled(20));
  EXPECT_GT(st.can_write, Scaled(3000));
  (void)!system(("rm -rf '" + w.base + "'").c_str());
}

}  // namespace

namespace {

// The `:minimal` platform defaults let a process log through
// /private/var/run/syslog; a policy that denies that socket (a `deny`
// entry at or above it, a deny glob matching it, or a unix_sockets deny)
// keeps it closed, unless a deeper rule re-opens it. (A policy that reads
// every file has no platform section: libs/policy's view drops `:minimal`
// there.)
struct SyslogCase {
  const char *name;
  std::vector<std::pair<std::string, csb_access>> entries;
  std::vector<std::pair<std::string, int>> unix_sockets;
  std::vector<std::string> globs;
  bool allowed;
};

TEST(Platform, SyslogFollowsThePolicy) {
  const std::vector<SyslogCase> cases = {
      {"no rule about it", {{"/Users/u/w", CSB_ACCESS_WRITE}}, {}, {}, true},
      {"readable", {{"/Users", CSB_ACCESS_READ}}, {}, {}, true},
      {"deny entry above", {{"/private/var/run", CSB_ACCESS_DENY}}, {}, {}, false},
      {"deny entry at it", {{"/Users", CSB_ACCESS_READ}, {"/private/var/run/syslog", CSB_ACCESS_DENY}}, {}, {}, false},
      {"re-opened below a deny",
       {{"/private/var", CSB_ACCESS_DENY}, {"/private/var/run/syslog", CSB_ACCESS_READ}}, {}, {}, true},
      {"deny glob", {{"/Users", CSB_ACCESS_READ}}, {}, {"/private/var/run/sys*"}, false},
      {"unix socket deny", {{"/Users", CSB_ACCESS_READ}}, {{"/private/var/run/syslog", 0}}, {}, false},
      {"unix socket deny above", {{"/Users", CSB_ACCESS_READ}}, {{"/private/var/run", 0}}, {}, false},
      {"unix socket allow below a deny",
       {{"/Users", CSB_ACCESS_READ}}, {{"/private/var/run", 0}, {"/private/var/run/syslog", 1}}, {}, true},
  };
  for (const auto &c : cases) {
    csb_policy *p = csb_policy_new(CSB_PLATFORM_MACOS, "/Users/u/w");
    for (const auto &e : c.entries) csb_policy_add_entry(p, e.first.c_str(), e.second, "test", 0, 0);
    for (const auto &g : c.globs) csb_policy_add_glob(p, g.c_str(), "test");
    std::vector<csb_unix_socket_rule> us;
    for (const auto &u : c.unix_sockets) us.push_back({const_cast<char *>(u.first.c_str()), u.second});
    csb_policy_set_unix_sockets(p, us.data(), us.size());
    p->include_platform_defaults = 1;
    csb_policy_canonicalize(p);
    csb_policy_view *v = nullptr;
    csb_error err;
    csb_error_clear(&err);
    ASSERT_TRUE(csb_policy_view_build(p, &v, &err)) << err.msg;
    csb_sbpl_profile *prof = nullptr;
    ASSERT_TRUE(csb_sbpl_generate(p, v, csb_sbpl_host_none(), nullptr, &prof, &err)) << err.msg;
    std::vector<const char *> params(prof->params.items, prof->params.items + prof->params.len);
    char perr[1024] = "";
    sbpl_program *prog = sbpl_parse(prof->text, perr, sizeof perr);
    ASSERT_NE(prog, nullptr) << perr;
    ASSERT_TRUE(sbpl_check(prog, params.data(), params.size(), perr, sizeof perr)) << perr;
    sbpl_decision d;
    sbpl_decide(prog, params.data(), params.size(), "network-outbound", "/private/var/run/syslog",
                "SOCKET", &d);
    EXPECT_EQ(d.allowed != 0, c.allowed) << c.name << " (rule " << d.rule << ", " << d.section << ")\n"
                                         << prof->text;
    sbpl_free(prog);
    csb_sbpl_profile_free(prof);
    csb_policy_view_free(v);
    csb_policy_free(p);
  }
}

}  // namespace

namespace {

// `--allow-unix-socket DIR/link/../a.sock` names the socket where the
// kernel resolves it: `..` leads to the parent of where `link` leads, not
// to DIR. The grant must be there, and nowhere else.
TEST(UnixSockets, DotDotAfterSymlinkResolvesLikeTheKernel) {
  std::string t = NewTempDir();
  ASSERT_FALSE(t.empty());
  ASSERT_EQ(mkdir((t + "/d").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((t + "/d/sub").c_str(), 0755), 0);
  ASSERT_EQ(symlink((t + "/d/sub").c_str(), (t + "/link").c_str()), 0);
  csb_policy *p = csb_policy_new(CSB_PLATFORM_MACOS, t.c_str());
  csb_policy_add_entry(p, "/", CSB_ACCESS_READ, "test", 0, 0);
  csb_policy_canonicalize(p);
  csb_policy_view *v = nullptr;
  csb_error err;
  csb_error_clear(&err);
  ASSERT_TRUE(csb_policy_view_build(p, &v, &err)) << err.msg;
  std::string opt = t + "/link/../a.sock";
  const char *socks[] = {opt.c_str()};
  csb_sbpl_opts o = {nullptr, socks, 1};
  csb_sbpl_profile *prof = nullptr;
  ASSERT_TRUE(csb_sbpl_generate(p, v, csb_sbpl_host_system(0), &o, &prof, &err)) << err.msg;
  std::vector<const char *> params(prof->params.items, prof->params.items + prof->params.len);
  char perr[1024] = "";
  sbpl_program *prog = sbpl_parse(prof->text, perr, sizeof perr);
  ASSERT_NE(prog, nullptr) << perr;
  ASSERT_TRUE(sbpl_check(prog, params.data(), params.size(), perr, sizeof perr)) << perr;
  const std::vector<std::pair<std::string, bool>> cases = {
      {t + "/d/a.sock", true},  // where the kernel resolves the path given
      {t + "/a.sock", false},   // the lexical reading of it
  };
  for (const auto &c : cases) {
    for (const char *op : {"network-outbound", "network-bind"}) {
      sbpl_decision d;
      sbpl_decide(prog, params.data(), params.size(), op, c.first.c_str(), "SOCKET", &d);
      EXPECT_EQ(d.allowed != 0, c.second) << op << " " << c.first << "\n"
                                          << prof->text;
    }
  }
  sbpl_free(prog);
  csb_sbpl_profile_free(prof);
  csb_policy_view_free(v);
  csb_policy_free(p);
  (void)!system(("rm -rf '" + t + "'").c_str());
}

}  // namespace

namespace {

// A Mac in miniature: /tmp, /var and /etc lead to /private/..., and the
// paths of `dirs` and `files` (as the kernel reports them, below /private)
// exist, without symlinks of their own. Serves both the generator's host
// facts and libs/policy's probe (which reads `.git` files).
struct MiniMac {
  std::set<std::string> dirs, files;
  std::map<std::string, std::string> content;

  static std::string Dealias(const std::string &p) {
    for (const char *a : {"/etc", "/tmp", "/var"}) {
      size_t n = strlen(a);
      if (p.compare(0, n, a) == 0 && (p.size() == n || p[n] == '/')) return "/private" + p;
    }
    return p;
  }
  bool Exists(const std::string &p) const {
    std::string d = Dealias(p);
    return d == "/" || dirs.count(d) > 0 || files.count(d) > 0;
  }

  static const MiniMac &Of(const void *ctx) { return *static_cast<const MiniMac *>(ctx); }
  static char *Alias(const void *, const char *path) {
    std::string d = Dealias(path);
    return d == path ? nullptr : strdup(d.c_str());
  }
  static csb_sbpl_kind Kind(const void *ctx, const char *path) {
    const MiniMac &m = Of(ctx);
    std::string d = Dealias(path);
    if (d == "/" || m.dirs.count(d)) return CSB_SBPL_DIR;
    return m.files.count(d) ? CSB_SBPL_OTHER : CSB_SBPL_MISSING;
  }
  static char *Realpath(const void *ctx, const char *path) {
    return Of(ctx).Exists(path) ? strdup(Dealias(path).c_str()) : nullptr;
  }
  static int Nested(const void *, const char *, char **link, csb_error *) {
    *link = nullptr;
    return 1;
  }
  static char *Readlink(const void *, const char *) { return nullptr; }
  static int Links(const void *, const char *, int, csb_strv *, csb_error *) { return 1; }

  static void Stat(void *ctx, const char *path, csb_probe_stat *st) {
    const MiniMac &m = Of(ctx);
    std::string d = Dealias(path);
    st->exists = m.Exists(path);
    st->is_dir = d == "/" || m.dirs.count(d) > 0;
    st->is_file = m.files.count(d) > 0;
  }
  static char *ReadFile(void *ctx, const char *path, size_t max, size_t *len) {
    const MiniMac &m = Of(ctx);
    auto it = m.content.find(Dealias(path));
    if (it == m.content.end()) return nullptr;
    std::string s = it->second.substr(0, max);
    *len = s.size();
    return strdup(s.c_str());
  }
  static char *Effective(void *ctx, const char *path) {
    (void)ctx;
    return strdup(Dealias(path).c_str());
  }

  csb_sbpl_host host() const {
    return {this, Alias, Kind, Realpath, Nested, Readlink, Links};
  }
  csb_policy_probe probe() const {
    return {const_cast<MiniMac *>(this), Stat, ReadFile, Effective};
  }
};

// Writable roots /tmp/a and /tmp/b; /tmp/a/.git points at a gitdir below
// /tmp/b, spelled through the /tmp alias. git, run later outside the
// sandbox, takes hooks and config from there: the write rule of /tmp/b
// must exclude it wherever Seatbelt sees it (/private/tmp/b/gd).
TEST(Aliases, GitdirTargetSpelledThroughAnAliasStaysReadOnly) {
  MiniMac m;
  m.dirs = {"/private", "/private/tmp", "/private/tmp/a", "/private/tmp/b", "/private/tmp/b/gd"};
  m.files = {"/private/tmp/a/.git"};
  m.content["/private/tmp/a/.git"] = "gitdir: /tmp/b/gd\n";
  csb_sbpl_host host = m.host();
  csb_policy_probe probe = m.probe();
  csb_policy *doc = csb_policy_new(CSB_PLATFORM_MACOS, "/tmp/a");
  csb_policy_set_probe(doc, &probe);
  csb_policy_add_workspace_root(doc, "/tmp/a", "cwd");
  csb_policy_add_entry(doc, "/", CSB_ACCESS_READ, ":root", 0, 0);
  csb_policy_add_entry(doc, "/tmp/a", CSB_ACCESS_WRITE, ":workspace_roots", 0, 0);
  csb_policy_add_entry(doc, "/tmp/b", CSB_ACCESS_WRITE, "b", 0, 0);
  csb_policy_canonicalize(doc);
  csb_policy *p = csb_sbpl_policy_dealias(doc, &host);
  csb_policy_view *v = nullptr;
  csb_error err;
  csb_error_clear(&err);
  ASSERT_TRUE(csb_policy_view_build(p, &v, &err)) << err.msg;
  csb_sbpl_profile *prof = nullptr;
  ASSERT_TRUE(csb_sbpl_generate(p, v, &host, nullptr, &prof, &err)) << err.msg;
  std::vector<const char *> params(prof->params.items, prof->params.items + prof->params.len);
  char perr[1024] = "";
  sbpl_program *prog = sbpl_parse(prof->text, perr, sizeof perr);
  ASSERT_NE(prog, nullptr) << perr;
  ASSERT_TRUE(sbpl_check(prog, params.data(), params.size(), perr, sizeof perr)) << perr;
  std::string all;
  for (const char *q : params) all += std::string(q) + "\n";
  const std::vector<std::pair<std::string, bool>> cases = {
      {"/private/tmp/b/gd/config", false}, {"/private/tmp/b/gd/hooks/pre-commit", false},
      {"/private/tmp/b/gd", false},        {"/private/tmp/a/.git", false},
      {"/private/tmp/b/x", true},          {"/private/tmp/a/x", true},
  };
  for (const auto &c : cases) {
    sbpl_decision d;
    sbpl_decide(prog, params.data(), params.size(), "file-write-data", c.first.c_str(),
                "REGULAR-FILE", &d);
    EXPECT_EQ(d.allowed != 0, c.second) << c.first << " (rule " << d.rule << ")\n"
                                        << prof->text << all;
  }
  sbpl_free(prog);
  csb_sbpl_profile_free(prof);
  csb_policy_view_free(v);
  csb_policy_free(p);
  csb_policy_free(doc);
}

}  // namespace

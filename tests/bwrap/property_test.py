#!/usr/bin/env python3
"""Randomized property test for csb-bwrap: for random policies over a small
random file tree, what a sandboxed process can actually do agrees with the
verdict of libs/policy (`csb-resolve --check PATH [--access read|write]`)
for the same configuration; or csb-bwrap refuses the policy fail-closed
(exit 65 or 69, a message, nothing run, nothing changed).

usage: property_test.py --resolve CSB_RESOLVE CSB_BWRAP [CSB_BWRAP...]

Environment: CSB_PROPERTY_SEED (default 1; printed), CSB_PROPERTY_POLICIES
(policies per seed, default 100), CSB_PROPERTY_SEEDS (a number of
consecutive seeds from CSB_PROPERTY_SEED, default 1),
CSB_PROPERTY_VERBOSE=1 (print every policy and run), CSB_PROPERTY_ONLY=I
(only policy I of each seed), CSB_PROPERTY_KEEP=1 (keep the trees).

For each seed and policy: a fresh tree (nested directories and files, names
with spaces, a tab, bytes that are not UTF-8, symbolic links to siblings,
into the tree and outside it, a dangling one) and a configuration (a named
`[permissions.p]` profile: `:root` read or `:minimal`, random read, write
and deny entries at random depths, existing or not, and sometimes deny
globs) resolved by csb-resolve. The document runs under the bubblewrap
backend and, rewritten with `linux_backend: landlock`, the Landlock one.
One sandbox per run executes a probe that, for every candidate path (as
written, through links too), reads each file, lists each directory,
appends to each file, creates a file and a directory in each directory
and at each missing path the policy names. Each observation is compared
with `csb-resolve --check` of the path the kernel reaches (the path with
its symbolic links resolved on the host; for a new entry, the new path):
reads and listings with `--access read`, the rest with `--access write`.
Afterwards the host tree must hold exactly what it held before plus what
the probe was seen to write (no mount target left behind).

Oracle: the configuration is evaluated lexically (docs/policy.md,
symlinks not followed), while backends enforce each entry at its effective
path (the deepest existing ancestor canonicalised): where an entry's path
crosses a symbolic link, the verdicts come from the same configuration
with that entry written at its effective path. Documented differences
(docs/csb-bwrap.md) are encoded as exceptions, each named in the report:

- new-glob-match: a deny glob masks what exists when the sandbox starts; a
  new entry whose name matches may still be created where the policy
  without the globs lets it be written;
- skeleton-listing: without `/` readable, a directory leading to a
  readable root (or to a mask) but not readable itself is a directory of
  the sandbox's empty tmpfs: it lists only the names on the way;
- denied-link-target: a denied path (entry or glob match) that is a
  symbolic link is masked at its target, which is then unreadable too;
- landlock-no-write: the Landlock backend refuses every policy with a
  writable root, so it never writes (a run it accepts denies every write).
"""

import errno
import hashlib
import json
import os
import random
import shutil
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import sandbox  # noqa: E402

TIMEOUT = 60
PY = "/usr/bin/python3"
REFUSAL_EXITS = (65, 69)
RANK = {"read": 0, "write": 1, "deny": 2}

# Names of entries the generator may give a policy (no glob syntax: a path
# key with glob syntax is a deny glob, or refused for read and write).
NAMES = ["a", "b", "c", "data", "sub dir", "x.env", "y.txt", "k-1", "\u00e9t\u00e9", "tab\tname",
         ".git", ".codex", ".agents", ".csb", "lib", "out"]
# Names only the tree holds (never written in a configuration).
ODD_NAMES = [b"\xff\xfe", b"bad\x80name", b"n?me", b"[x]"]
GLOBS = ["*.env", "**/*.env", "?", "**/c", "*/data", "[ab]", "[!a-c]*.txt", "**/sub dir/*", "*/*/?",
         "**"]

# The probe runs in the sandbox: reads its plan (JSON, paths hex-encoded)
# on stdin and prints one JSON line of results.
PROBE = r"""
import errno, json, os, sys
plan = json.load(sys.stdin)
sys.stdout.write("START\n"); sys.stdout.flush()
res = []
def err(e):
    return errno.errorcode.get(e.errno, str(e.errno))
for op, hp in plan:
    p = bytes.fromhex(hp)
    try:
        if op == "R":
            with open(p, "rb") as f:
                r = "ok:" + f.read().hex()
        elif op == "L":
            r = "ok:" + json.dumps(sorted(n.hex() for n in os.listdir(p)))
        elif op == "W":
            fd = os.open(p, os.O_WRONLY | os.O_APPEND)
            try:
                os.write(fd, b"+")
            finally:
                os.close(fd)
            r = "ok"
        elif op == "C":
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            os.write(fd, b"new")
            os.close(fd)
            r = "ok"
        elif op == "M":
            os.mkdir(p, 0o755)
            r = "ok"
        else:
            r = "bad-op"
    except OSError as e:
        r = err(e)
    res.append(r)
print(json.dumps(res))
"""


def fsenc(p):
    return os.fsencode(p)


def show(p):
    """A path for the report: bytes that are not UTF-8 as \\xNN."""
    return fsenc(p).decode("utf-8", "backslashreplace").replace("\t", "\\t")


class Resolver:
    """csb-resolve runs for one configuration (a CSB_HOME of its own)."""

    def __init__(self, binary, base, cwd):
        self.bin = binary
        self.base = base
        self.cwd = cwd
        self.cache = {}

    def env(self, home):
        e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.path.join(self.base, "home"),
             "CSB_HOME": home}
        for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if var in os.environ:
                e[var] = os.environ[var]
        return e

    def write_config(self, name, lines):
        home = os.path.join(self.base, name)
        os.makedirs(home, exist_ok=True)
        with open(os.path.join(home, "config.toml"), "w") as f:
            f.write("\n".join(lines) + "\n")
        return home

    def run(self, home, args):
        p = subprocess.run([self.bin, "--system-config", "/dev/null", "--requirements", "/dev/null", *args],
                           cwd=self.cwd, env=self.env(home), capture_output=True, timeout=TIMEOUT)
        return p.returncode, p.stdout.decode("utf-8", "backslashreplace"), p.stderr.decode("utf-8", "replace")

    def document(self, home):
        rc, out, err = self.run(home, [])
        if rc != 0:
            raise RuntimeError(f"csb-resolve failed ({rc}): {err}")
        return out

    def check(self, home, path, access):
        """(allowed, deciding rule)"""
        key = (home, path, access)
        if key not in self.cache:
            rc, out, err = self.run(home, ["--check", path, "--access", access])
            if rc not in (0, 1):
                raise RuntimeError(f"csb-resolve --check {show(path)} failed ({rc}): {err}")
            lines = out.splitlines()
            self.cache[key] = (rc == 0, lines[1] if len(lines) > 1 else out.strip())
        return self.cache[key]


def toml_key(s):
    return json.dumps(s, ensure_ascii=False)


class Policy:
    """One random tree and configuration."""

    def __init__(self, rng, base):
        self.rng = rng
        self.base = base
        self.tree = os.path.join(base, "tree")
        self.outside = os.path.join(base, "outside")
        self.dirs = []      # existing directories of the tree (real, no link on the way)
        self.files = []
        self.links = []     # (path, target as written)
        self.build_tree()
        self.make_config()

    # -- tree ----------------------------------------------------------------
    def build_tree(self):
        rng = self.rng
        os.makedirs(self.tree)
        os.makedirs(os.path.join(self.outside, "od"))
        with open(os.path.join(self.outside, "secret"), "w") as f:
            f.write("outside-secret")
        with open(os.path.join(self.outside, "od", "f"), "w") as f:
            f.write("outside-dir-file")
        self.dirs.append(self.tree)

        def fill(d, depth):
            n = rng.randint(1, 4)
            for name in rng.sample(NAMES, n):
                p = os.path.join(d, name)
                if depth < 3 and rng.random() < 0.45:
                    os.mkdir(p)
                    self.dirs.append(p)
                    fill(p, depth + 1)
                else:
                    with open(p, "w") as f:
                        f.write(f"content of {name} at depth {depth}")
                    self.files.append(p)
            if rng.random() < 0.15:
                p = os.path.join(fsenc(d), rng.choice(ODD_NAMES))
                with open(p, "wb") as f:
                    f.write(b"odd")
                self.files.append(os.fsdecode(p))

        fill(self.tree, 0)
        # links: to a sibling, to a file, outside, dangling (to names a
        # configuration can spell: the oracle names their targets)
        plain_files = [f for f in self.files if plain(f)]
        for _ in range(rng.randint(0, 3)):
            d = rng.choice(self.dirs)
            name = "lnk" + str(rng.randint(0, 99))
            p = os.path.join(d, name)
            if os.path.lexists(p):
                continue
            kind = rng.random()
            if kind < 0.4 and len(self.dirs) > 1:
                target = os.path.relpath(rng.choice(self.dirs), d)
            elif kind < 0.6 and plain_files:
                target = os.path.relpath(rng.choice(plain_files), d)
            elif kind < 0.8:
                target = rng.choice([self.outside, os.path.join(self.outside, "secret"),
                                     os.path.join(self.outside, "od")])
            else:
                target = "missing-target"
            os.symlink(target, p)
            self.links.append((p, target))

    # -- configuration -------------------------------------------------------
    def existing(self):
        return self.dirs + self.files + [p for p, _ in self.links]

    def random_path(self):
        rng = self.rng
        r = rng.random()
        if r < 0.7:
            p = rng.choice(self.existing())
            if not plain(p):
                p = os.path.dirname(p)
            return p
        # a path that does not exist (yet), one or two levels below a directory
        d = rng.choice(self.dirs + [p for p, _ in self.links])
        p = os.path.join(d, rng.choice(NAMES + ["new", "later"]))
        if rng.random() < 0.3:
            p = os.path.join(p, rng.choice(NAMES))
        return p

    def make_config(self):
        rng = self.rng
        self.root_read = rng.random() < 0.5
        lines = ['default_permissions = "p"', "", "[permissions.p.filesystem]"]
        lines.append('":root" = "read"' if self.root_read else '":minimal" = "read"')
        entries = {}
        r = rng.random()
        if r < 0.5:
            entries[self.tree] = "write"
        elif r < 0.75:
            entries[self.tree] = "read"
        # a read-only third of the policies: the Landlock backend can run them
        self.read_only = rng.random() < 0.3
        for _ in range(rng.randint(1, 7)):
            p = self.random_path()
            if self.read_only:
                acc = "read"
            else:
                acc = rng.choice(["read", "write", "deny", "write", "deny"])
            entries[p] = acc
        if self.read_only:
            entries = {p: "read" for p in entries}
        # two entries naming one path through different symlinks (a/lnk
        # and a/target) are ambiguous: the policy keeps the first
        kept, seen = {}, set()
        for p in sorted(entries):
            e = effective(p)
            if e not in seen:
                seen.add(e)
                kept[p] = entries[p]
        self.entries = kept
        self.globs = []
        if not self.read_only and rng.random() < 0.35:
            for g in rng.sample(GLOBS, rng.randint(1, 2)):
                self.globs.append(os.path.join(self.tree, g))
        for p, acc in sorted(self.entries.items()):
            lines.append(f"{toml_key(p)} = {toml_key(acc)}")
        for g in self.globs:
            lines.append(f"{toml_key(g)} = \"deny\"")
        self.lines = lines

    def describe(self):
        rel = lambda p: p.replace(self.base, "$B")  # noqa: E731
        parts = [("root-read" if self.root_read else "minimal")]
        parts += [f"{show(rel(p))}={a}" for p, a in sorted(self.entries.items())]
        parts += [f"glob:{show(rel(g))}" for g in self.globs]
        links = [f"{show(rel(p))}->{show(t.replace(self.base, '$B'))}" for p, t in self.links]
        return "; ".join(parts) + ("  links: " + ", ".join(links) if links else "")


def plain(p):
    """Whether a configuration can name p: UTF-8, no glob syntax."""
    return fsenc(p) == fsenc(p).decode("utf-8", "ignore").encode() and not any(ch in p for ch in "*?[]{}")


def effective(path):
    """The path with its existing part canonicalised (symbolic links
    followed), the rest appended as written."""
    path = fsenc(path)
    rest = []
    cur = path
    while not os.path.lexists(cur) and cur != b"/":
        cur, tail = os.path.split(cur)
        rest.insert(0, tail)
    try:
        real = os.path.realpath(cur, strict=True)
    except OSError:
        # a dangling link on the way: follow what can be followed
        real = os.path.realpath(cur)
    return os.fsdecode(os.path.join(real, *rest) if rest else real)


def snapshot(root):
    """{relative path: description} of everything below root (lstat)."""
    snap = {}
    for dirpath, dirnames, filenames in os.walk(fsenc(root)):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                d = ("link", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                d = ("dir", stat.S_IMODE(st.st_mode))
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    d = ("file", stat.S_IMODE(st.st_mode), hashlib.sha256(f.read()).hexdigest())
            else:
                d = ("other", st.st_mode)
            snap[os.fsdecode(os.path.relpath(p, fsenc(root)))] = d
    return snap


class Checker:
    def __init__(self, resolve_bin, binaries, verbose):
        self.resolve_bin = resolve_bin
        self.binaries = binaries
        self.verbose = verbose
        self.stats = {"policies": 0, "runs": 0, "refused": {}, "observations": 0, "exceptions": {}}
        self.failures = []

    def note_exception(self, name):
        self.stats["exceptions"][name] = self.stats["exceptions"].get(name, 0) + 1

    def run_seed(self, seed, count):
        only = os.environ.get("CSB_PROPERTY_ONLY")
        for i in range(count):
            if only is not None and str(i) != only:
                continue
            rng = random.Random(f"{seed}/{i}")
            for binary in self.binaries:
                for backend in ("bubblewrap", "landlock"):
                    # the same tree and configuration for every run of policy i
                    self.one(seed, i, random.Random(f"{seed}/{i}"), binary, backend)
            del rng
            self.stats["policies"] += 1

    def fail(self, seed, i, pol, backend, path, op, observed, expected, rule):
        self.failures.append((seed, i, backend, pol.describe(), show(path.replace(pol.base, "$B")) if path else "-",
                              op, observed, expected, rule))

    def one(self, seed, i, rng, binary, backend):
        base = tempfile.mkdtemp(prefix="csb-prop-", dir=sandbox.scratch_dir())
        try:
            self._one(seed, i, rng, binary, backend, base)
        finally:
            if os.environ.get("CSB_PROPERTY_KEEP") == "1":
                print(f"  kept {base}")
            else:
                shutil.rmtree(base, ignore_errors=True)

    def _one(self, seed, i, rng, binary, backend, base):
        pol = Policy(rng, base)
        res = Resolver(self.resolve_bin, base, pol.tree)
        home = res.write_config("home/.csb", pol.lines)
        doc = json.loads(res.document(home))
        if backend == "landlock":
            doc["legacy"] = {"linux_backend": "landlock", "round_trips": True,
                             "sandbox_policy": {"network_access": False, "type": "read-only"}}
        pfile = os.path.join(base, "policy.json")
        with open(pfile, "w") as f:
            json.dump(doc, f, indent=2, sort_keys=True)
        # the oracle's configuration: each entry at its effective path, and
        # the targets of denied links denied (denied-link-target)
        oracle_lines = pol.lines[:3] + [pol.lines[3]]
        link_targets = []
        # two entries with one effective path: deny > write > read, as at
        # equal depth
        eff = {}
        for p, acc in sorted(pol.entries.items()):
            e = effective(p)
            if e not in eff or RANK[acc] > RANK[eff[e]]:
                eff[e] = acc
        for e, acc in sorted(eff.items()):
            oracle_lines.append(f"{toml_key(e)} = {toml_key(acc)}")
        for lp, _ in pol.links:
            denied = pol.entries.get(lp) == "deny"
            if not denied and pol.globs:
                ok, rule = res.check(home, lp, "read")
                denied = not ok and rule.startswith("deny: deny glob")
            if denied and os.path.exists(lp):
                t = os.path.realpath(lp)
                link_targets.append(t)
        read_link_targets = [effective(p) for p, acc in pol.entries.items()
                             if acc == "read" and effective(p) != p and os.path.exists(p)]
        for g in pol.globs:
            oracle_lines.append(f"{toml_key(g)} = \"deny\"")
        ohome = home
        if oracle_lines != pol.lines:
            ohome = res.write_config("home/oracle", oracle_lines)
        nglob_home = None
        if pol.globs:
            nglob_home = res.write_config("home/noglob", oracle_lines[:len(oracle_lines) - len(pol.globs)])

        # the plan
        plan = []
        cands = []
        seen_new = set()

        def add(op, path, target, new=False):
            plan.append((op, fsenc(path).hex()))
            cands.append((op, path, target, new))

        walk_paths = []
        # every path of the tree, and through each link to a directory once
        # (its entries, one level: enough to cross it, and no cycles)
        for dirpath, dirnames, filenames in os.walk(fsenc(pol.tree)):
            for n in dirnames + filenames:
                q = os.path.join(dirpath, n)
                walk_paths.append(os.fsdecode(q))
                if os.path.islink(q) and os.path.isdir(q):
                    walk_paths += [os.fsdecode(os.path.join(q, m)) for m in os.listdir(q)]
        walk_paths.append(pol.tree)
        walk_paths = sorted(set(walk_paths))
        for p in walk_paths:
            if not os.path.exists(p):
                continue
            real = os.path.realpath(p)
            if os.path.isdir(p):
                add("L", p, real)
            else:
                add("R", p, real)
        for p in walk_paths:
            if os.path.isfile(p):
                add("W", p, os.path.realpath(p))
        k = 0
        for p in walk_paths:
            if os.path.isdir(p) and not os.path.islink(p):
                k += 1
                add("C", os.path.join(p, f"new{k}.env" if k % 3 == 0 else f"new{k}"),
                    os.path.join(os.path.realpath(p), f"new{k}.env" if k % 3 == 0 else f"new{k}"), True)
                add("M", os.path.join(p, f"newd{k}"), os.path.join(os.path.realpath(p), f"newd{k}"), True)
        for p in sorted(pol.entries):
            if os.path.lexists(p) or not os.path.isdir(os.path.dirname(p)):
                continue
            t = effective(p)
            if t in seen_new:
                continue
            seen_new.add(t)
            op = "M" if rng.random() < 0.5 else "C"
            add(op, p, t, True)

        before = snapshot(base)
        host_view = {}
        for op, path, target, new in cands:
            if op == "R":
                with open(target, "rb") as f:
                    host_view[target] = f.read()
            elif op == "L":
                host_view[target] = set(os.listdir(fsenc(target)))
        argv = [binary, "--policy", pfile, "--", PY, "-S", "-c", PROBE]
        e = {k2: v for k2, v in os.environ.items() if not k2.lower().endswith("_proxy")}
        p = subprocess.run(argv, cwd=pol.tree, input=json.dumps(plan).encode(), capture_output=True,
                           timeout=TIMEOUT, env=e)
        after = snapshot(base)
        self.stats["runs"] += 1
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        if self.verbose:
            print(f"seed {seed} policy {i} {backend} {os.path.basename(binary)}: {pol.describe()}\n  exit {p.returncode}"
                  f" {err.strip()[:300]}")
        if p.returncode in REFUSAL_EXITS:
            if out != "" or before != after or not err.strip():
                self.fail(seed, i, pol, backend, None, "refusal", f"exit {p.returncode}, stdout {out[:80]!r}, "
                          f"changed {sorted(set(before.items()) ^ set(after.items()))[:4]}", "nothing run",
                          err.strip()[:200])
            kind = refusal_kind(err)
            if kind is None:
                self.fail(seed, i, pol, backend, None, "refusal", f"exit {p.returncode}", "a documented reason",
                          err.strip()[:300])
            key = f"{backend}: {kind}"
            self.stats["refused"][key] = self.stats["refused"].get(key, 0) + 1
            return
        lines = out.splitlines()
        if p.returncode != 0 or len(lines) != 2 or lines[0] != "START":
            self.fail(seed, i, pol, backend, None, "run", f"exit {p.returncode}: {out[-200:]!r}",
                      "the probe's results", err.strip()[-300:])
            return
        results = json.loads(lines[1])
        changed_ok = set()
        for (op, path, target, new), r in zip(cands, results):
            self.stats["observations"] += 1
            access = "read" if op in ("R", "L") else "write"
            ok, rule = res.check(ohome, target, access)
            obs = r.startswith("ok")
            expect = ok
            exc = None
            if access == "read" and any(target == t or target.startswith(t + "/") for t in link_targets):
                if ok and not obs:
                    expect, exc = False, "denied-link-target"
            if new and not ok and rule.startswith("deny: deny glob") and nglob_home:
                ok2, _ = res.check(nglob_home, target, access)
                if ok2:
                    expect, exc = True, "new-glob-match"
            if op == "L" and obs and (not ok or glob_matched_dir(target + "/x", res, ohome, pol)):
                names = json.loads(r[3:])
                if skeleton_ok(target, [bytes.fromhex(n) for n in names], pol, doc):
                    expect, exc = True, "skeleton-listing"
            if expect and not obs and backend == "bubblewrap":
                hidden = [ln for ln in links_on_way(path) if not link_visible(ln, res, ohome, pol)]
                if hidden:
                    expect, exc = False, "link-not-in-view"
                    rule += f" [link {show(hidden[0].replace(pol.base, '$B'))} not in the view]"
            if expect and not obs and backend == "bubblewrap":
                d = glob_matched_dir(target, res, ohome, pol)
                if d:
                    expect, exc = False, "glob-matched-directory"
            if new and nglob_home and rule.startswith("deny: deny glob"):
                ok, rule = res.check(nglob_home, target, access)
            if new and ok and not obs and access == "write" and rule.startswith("write: "):
                root = rule[len("write: "):].split(" (entry from ")[0]
                if not os.path.lexists(root) and (target == root or target.startswith(root + "/")):
                    # a writable root missing when the sandbox starts is not bound: what
                    # holds it decides whether it can be created
                    ok2, _ = res.check(ohome, os.path.dirname(root), "write")
                    if not ok2 or backend == "landlock":
                        expect, exc = False, "missing-writable-root"
            if op == "W" and ok and not obs and backend == "bubblewrap" and any(
                    effective(e).startswith(target + "/") for e, a in pol.entries.items() if a != "write"):
                # a rule below a regular file, which cannot exist: the file is kept read-only
                expect, exc = False, "file-blocking-a-rule"
            if obs != expect and any(target == t or target.startswith(t + "/") for t in read_link_targets):
                # below the target of a read entry written through a symlink: the
                # entry is bound at the link's path, and the verdict is the lexical
                # one of the path as accessed or of the target, or the effective one
                if obs in (res.check(home, target, access)[0], res.check(home, path, access)[0]):
                    expect, exc = obs, "read-entry-through-symlink"
            skeleton_write = False
            if (new and obs and not expect and backend == "bubblewrap" and not pol.root_read and
                    not under_readable_entry(os.path.dirname(target), doc)):
                expect, exc, skeleton_write = True, "skeleton-write", True
            if exc:
                self.note_exception(exc)
            if obs != expect:
                self.fail(seed, i, pol, backend, path, op, r if not obs else "ok", "allowed" if expect else "denied",
                          rule + ("" if target == path else f" [checked {show(target.replace(pol.base, '$B'))}]"))
                continue
            if obs and op == "R":
                host = host_view[target]
                got = bytes.fromhex(r[3:])
                if got != host:
                    self.fail(seed, i, pol, backend, path, op, f"read {got[:40]!r}", f"{host[:40]!r}", rule)
            if obs and op == "L" and exc is None:
                names = {bytes.fromhex(n) for n in json.loads(r[3:])}
                hostnames = host_view[target]
                # names created meanwhile by the probe cannot be there yet (listings come first);
                # extras are the mask targets of missing protected or denied paths
                missing = hostnames - names
                extra = names - hostnames
                bad_extra = [n for n in extra if not mask_target(os.path.join(fsenc(target), n), pol, doc)]
                if missing or bad_extra:
                    self.fail(seed, i, pol, backend, path, op, f"lists {sorted(names)}", f"{sorted(hostnames)}", rule)
            if obs and op in ("W", "C", "M") and not skeleton_write:
                changed_ok.add(os.fsdecode(os.path.relpath(fsenc(target), fsenc(base))))
        # the host tree: only what the probe was seen to write changed
        for rel in sorted(set(before) | set(after)):
            if before.get(rel) == after.get(rel):
                continue
            if before.get(rel, ("",))[0] == "dir" and after.get(rel, ("",))[0] == "dir":
                continue
            if rel in changed_ok:
                continue
            self.fail(seed, i, pol, backend, os.path.join(base, rel), "host", f"{before.get(rel)} -> {after.get(rel)}",
                      "unchanged", "host tree after the run")


def links_on_way(path):
    """The symbolic links the kernel follows to reach path (each at its
    location with the links before it resolved)."""
    out = []
    cur = b"/"
    comps = [c for c in fsenc(path).split(b"/") if c]
    for n, c in enumerate(comps):
        nxt = os.path.join(cur, c)
        if os.path.islink(nxt):
            out.append(os.fsdecode(nxt))
            nxt = os.path.realpath(nxt)
        if not os.path.lexists(nxt):
            break
        cur = nxt
    return out


def link_visible(link, res, home, pol):
    """Whether the bubblewrap view holds the link: its directory is
    readable, or a read or write entry is written through it (recreated
    as a symbolic link)."""
    ok, _ = res.check(home, os.path.realpath(os.path.dirname(link)), "read")
    if ok:
        return True
    return any((e == link or e.startswith(link + "/")) and os.path.exists(e)
               for e, a in pol.entries.items() if a != "deny")


def glob_matched_dir(target, res, home, pol):
    """An existing directory above target that a deny glob matches: masked
    as a whole (docs/csb-bwrap.md)."""
    if not pol.globs:
        return None
    d = os.path.dirname(target)
    while d.startswith(pol.tree + "/"):
        if os.path.isdir(d) and not os.path.islink(d):
            ok, rule = res.check(home, d, "read")
            if not ok and rule.startswith("deny: deny glob"):
                return d
        d = os.path.dirname(d)
    return None


def under_readable_entry(d, doc):
    """Whether directory d is at or below a read or write entry's effective
    path (so inside a bound root, not a directory of the sandbox's tmpfs)."""
    for e in doc["filesystem"]["entries"]:
        if e["access"] == "deny":
            continue
        r = effective(e["path"])
        if d == r or d.startswith(r.rstrip("/") + "/"):
            return True
    return False


REFUSALS = [
    ("crosses a symlink inside a writable root", "crosses symlink .* inside writable root"),
    ("writable root links into its own target", "goes through symlink .* which lies inside its own target"),
    ("protected path is a symlink", "protected .* is a symlink|symlink .* protected"),
    ("Landlock cannot express it", "cannot enforce this policy with the legacy Landlock backend"),
    ("the working directory is not in the view", "Can't chdir to"),
    ("denied link leads to a writable root or /", "it is a symlink to .* and hiding that would hide"),
]


def refusal_kind(err):
    """The documented reason a refusal names (docs/csb-bwrap.md, "Fails
    closed"), or None."""
    import re
    for kind, pat in REFUSALS:
        if re.search(pat, err):
            return kind
    return None


def mask_target(p, pol, doc):
    """Whether host path p (bytes) is a name csb-bwrap may show where the
    host has none: a missing entry of the policy or a protected name under
    a writable root (their masks), or a name on the way to one."""
    p = os.fsdecode(p)
    paths = [effective(e["path"]) for e in doc["filesystem"]["entries"]]
    paths += [e["path"] for e in doc["filesystem"]["entries"]]  # links on the way are recreated
    for e in doc["filesystem"]["entries"]:
        if e["access"] == "write":
            paths += [os.path.join(effective(e["path"]), n) for n in (".git", ".codex", ".agents", ".csb")]
    return any(q == p or q.startswith(p + "/") for q in paths)


def skeleton_ok(target, names, pol, doc):
    """A directory of the sandbox's tmpfs (no `/` read): every name it
    shows leads to an entry of the policy (a root, a carve-out or a mask)."""
    for n in names:
        if not mask_target(os.path.join(fsenc(target), n), pol, doc):
            return False
    return True


def main():
    args = sys.argv[1:]
    if len(args) < 3 or args[0] != "--resolve":
        print(__doc__)
        return 64
    resolve_bin = os.path.abspath(args[1])
    binaries = [os.path.abspath(b) for b in args[2:]]
    seed = int(os.environ.get("CSB_PROPERTY_SEED", "1"))
    count = int(os.environ.get("CSB_PROPERTY_POLICIES", "100"))
    nseeds = int(os.environ.get("CSB_PROPERTY_SEEDS", "1"))
    verbose = os.environ.get("CSB_PROPERTY_VERBOSE") == "1"
    c = Checker(resolve_bin, binaries, verbose)
    for s in range(seed, seed + nseeds):
        print(f"seed {s} ({count} policies; CSB_PROPERTY_SEED={s} CSB_PROPERTY_POLICIES={count} reproduces it)",
              flush=True)
        c.run_seed(s, count)
    st = c.stats
    print(f"{st['policies']} policies, {st['runs']} runs, {st['observations']} observations compared")
    for k, v in sorted(st["refused"].items()):
        print(f"  refused ({k}): {v}")
    for k, v in sorted(st["exceptions"].items()):
        print(f"  documented exception {k}: {v}")
    if c.failures:
        print(f"{len(c.failures)} disagreements:")
        for seed_, i, backend, pol, path, op, obs, exp, rule in c.failures:
            print(f"  seed {seed_} policy {i} [{backend}] {op} {path}: observed {obs}, expected {exp}; {rule}\n"
                  f"      policy: {pol}")
        return 1
    print("all observations agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())

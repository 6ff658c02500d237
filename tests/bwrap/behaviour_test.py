#!/usr/bin/env python3
"""Behaviour suite for csb-bwrap: every case runs a real sandbox on this
machine and asserts what the sandboxed command could and could not do
(exact outputs and exit codes).

usage: behaviour_test.py [--unprivileged] CSB_BWRAP [CSB_BWRAP...] [-k SUBSTRING]
       behaviour_test.py --codex CODEX [-k SUBSTRING]   (differential mode)

Each binary given (the host build and the static musl build) runs the whole
suite. Prints one line per case and a final "N passed, M failed" line.
--unprivileged: run by root, the suite runs again as uid 65534
(tests/lib/unpriv.py); cases that assert what only a root caller sees run
their unprivileged variant instead (the name in brackets).
"""

import fcntl
import http.server
import json
import re
import os
import resource
import shlex
import shutil
import signal
import stat
import struct
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import sandbox  # noqa: E402
import unpriv  # noqa: E402

TIMEOUT = 30
PY = "/usr/bin/python3"


class Fail(Exception):
    pass


class Skip(Exception):
    pass


# Differential mode (--codex PATH): the same cases run under `codex sandbox`
# with an equivalent [permissions.t] profile.
CODEX = None


def toml_str(s):
    return json.dumps(s)


def codex_home(t):
    entries, kw = t.last
    for k in ("backend", "enforcement", "kind", "platform", "proxy"):
        if k in kw and kw[k] not in (None, "bubblewrap", "managed", "restricted", "linux"):
            raise Skip(f"policy option {k}={kw[k]} has no codex equivalent here")
    if kw.get("net") == "proxy":
        raise Skip("proxy mode needs codex's managed network proxy")
    lines = ['default_permissions = "t"', "", "[permissions.t.filesystem]"]
    if kw.get("depth"):
        lines.append(f"glob_scan_max_depth = {kw['depth']}")
    if kw.get("minimal"):
        lines.append('":minimal" = "read"')
    for e in entries:
        lines.append(f"{toml_str(e[0])} = {toml_str(e[1])}")
    for g in kw.get("globs", ()):
        lines.append(f"{toml_str(g)} = \"deny\"")
    lines += ["", "[permissions.t.network]", f"enabled = {'true' if kw.get('net') == 'enabled' else 'false'}"]
    if kw.get("unix_all"):
        lines.append("dangerously_allow_all_unix_sockets = true")
    if kw.get("unix"):
        lines += ["", "[permissions.t.network.unix_sockets]"]
        for k, v in kw["unix"].items():
            lines.append(f"{toml_str(k)} = {toml_str(v)}")
    home = os.path.join(codex_homes(), os.path.basename(t.base))
    os.makedirs(home, exist_ok=True)
    with open(os.path.join(home, "config.toml"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return home


def codex_homes():
    """Where the codex homes go: codex refuses a CODEX_HOME below the
    temporary directory, so ~/.cache unless $HOME is there too, else the
    first of /var/tmp and /var/cache that is not."""
    tmp = os.path.realpath(tempfile.gettempdir())
    for base in (os.path.join(os.path.expanduser("~"), ".cache"), "/var/tmp", "/var/cache"):
        real = os.path.realpath(base)
        if real != tmp and not real.startswith(tmp + "/"):
            return os.path.join(base, "csb-bwrap-differential")
    raise SystemExit("no directory outside %s for codex homes" % tmp)


def eq(got, want, what="value"):
    if got != want:
        raise Fail(f"{what}: expected {want!r}, got {got!r}")


def contains(text, needle, what="output"):
    if needle not in text:
        raise Fail(f"{what}: expected to contain {needle!r}, got {text!r}")


class Env(sandbox.Workspace):
    """A scratch directory with a workspace, and a runner for one binary."""

    def __init__(self, binary, base):
        super().__init__(binary, base, prefix="case-", outside="outside", policy_name="policy.json")
        # environment changes for every run of this case (None removes)
        self.env = {}

    def write(self, rel, text, mode=None):
        p = os.path.join(self.base, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        if mode is not None:
            os.chmod(p, mode)
        return p

    def read(self, rel):
        with open(os.path.join(self.base, rel)) as f:
            return f.read()

    def exists(self, rel):
        return os.path.lexists(os.path.join(self.base, rel))

    def argv(self, cmd, policy=None, extra=(), cwd=None):
        """The command line running cmd sandboxed (csb-bwrap, or codex in
        differential mode), and extra environment for it."""
        if policy is None:
            policy = self.pfile if os.path.exists(self.pfile) else self.policy()
        if isinstance(cmd, str):
            cmd = ["/bin/sh", "-c", cmd]
        if CODEX is None:
            return [self.bin, "--policy", policy, *extra, "--", *cmd], {}
        if extra or policy != self.pfile:
            raise Skip("csb-only option or policy file")
        home = codex_home(self)
        return [CODEX, "sandbox", "-P", "t", "-C", cwd or self.ws, "--", *cmd], {"CODEX_HOME": home}

    def run(self, cmd, policy=None, cwd=None, env=None, stdin=None, extra=(), timeout=TIMEOUT,
            nofile=None):
        """nofile: (soft, hard) RLIMIT_NOFILE to start the launcher with."""
        argv, xenv = self.argv(cmd, policy, extra, cwd)
        e = dict(os.environ)
        for k in list(e):
            if k.lower().endswith("_proxy"):
                del e[k]
        e.update(xenv)
        for k, v in {**self.env, **(env or {})}.items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        pre = (lambda: resource.setrlimit(resource.RLIMIT_NOFILE, nofile)) if nofile else None
        p = subprocess.run(argv, cwd=cwd or self.ws, env=e, input=stdin, capture_output=True,
                           text=True, timeout=timeout, preexec_fn=pre)
        return p.returncode, p.stdout, p.stderr

    def sh(self, script, **kw):
        return self.run(["/bin/sh", "-c", script], **kw)


CASES = []


def case(fn):
    CASES.append(fn)
    return fn


# ---------------------------------------------------------------------------
# filesystem
# ---------------------------------------------------------------------------


@case
def write_inside_writable_root(t):
    rc, out, err = t.sh("printf inside > note.txt && cat note.txt")
    eq((rc, out), (0, "inside"))
    eq(t.read("ws/note.txt"), "inside", "host file")


@case
def write_outside_roots_is_read_only(t):
    target = os.path.join(t.out, "x")
    rc, out, err = t.sh(f"printf no > {target}")
    eq(rc, 2, "exit")
    contains(err, "Read-only file system", "stderr")
    eq(t.exists("outside/x"), False, "host file created")


@case
def read_outside_roots_with_root_read(t):
    t.write("outside/data.txt", "host-data")
    rc, out, _ = t.sh(f"cat {t.out}/data.txt")
    eq((rc, out), (0, "host-data"))


@case
def restricted_read_hides_unlisted_paths(t):
    t.write("outside/hidden.txt", "secret")
    t.write("ws/visible.txt", "visible")
    t.policy([(t.ws, "write")], minimal=True)
    rc, out, _ = t.sh(f"cat visible.txt; test -e {t.out}/hidden.txt && echo leak || echo hidden; "
                      "test -e /root && echo root-visible || echo root-hidden")
    eq((rc, out), (0, "visiblehidden\nroot-hidden\n"))


@case
def restricted_read_without_platform_defaults_has_no_shell(t):
    t.policy([(t.ws, "write")], minimal=False)
    rc, out, err = t.run(["/bin/sh", "-c", "echo ran"])
    eq(rc, 127, "exit")
    eq(out, "", "stdout")
    contains(err, "cannot run /bin/sh", "stderr")


def merged_usr_links():
    """The top-level symlinks of a merged-/usr host (/bin -> usr/bin, ...),
    as {path: content}; Skip when /bin is a directory here."""
    links = {p: os.readlink(p) for p in ("/bin", "/sbin", "/lib", "/lib64") if os.path.islink(p)}
    if "/bin" not in links:
        raise Skip("/bin is not a symlink on this host")
    return links


@case
def restricted_read_recreates_symlinked_readable_roots(t):
    links = merged_usr_links()
    t.policy([(t.ws, "write"), ("/usr", "read")] + [(p, "read") for p in links])
    script = "".join(f"readlink {p}; " for p in sorted(links)) + "echo ok"
    rc, out, err = t.run(["/bin/sh", "-c", script])
    eq((rc, out), (0, "".join(links[p] + "\n" for p in sorted(links)) + "ok\n"), err)
    # the way through the link reaches the same files
    rc, out, _ = t.run(["/bin/sh", "-c", "test /bin/sh -ef /usr/bin/sh && echo same"])
    eq((rc, out), (0, "same\n"))


@case
def platform_defaults_keep_symlinked_roots_as_symlinks(t):
    links = merged_usr_links()
    t.policy([(t.ws, "write")], minimal=True)
    rc, out, err = t.run(["/bin/sh", "-c", "test -L /bin && readlink /bin"])
    eq((rc, out), (0, links["/bin"] + "\n"), err)


@case
def symlinked_root_leading_to_a_denied_path_stays_unreadable(t):
    links = merged_usr_links()
    if "/sbin" not in links or not os.path.isdir("/usr/sbin"):
        raise Skip("/sbin is not a symlink to /usr/sbin here")
    t.policy([(t.ws, "write"), ("/usr", "read"), ("/usr/sbin", "deny")] + [(p, "read") for p in links])
    rc, out, err = t.run(["/bin/sh", "-c", "readlink /sbin; ls /sbin/ >/dev/null 2>&1 && echo leak || echo denied; "
                                           "ls /usr/sbin/ >/dev/null 2>&1 && echo leak || echo denied"])
    eq((rc, out), (0, links["/sbin"] + "\ndenied\ndenied\n"), err)


@case
def readable_root_is_read_only(t):
    os.makedirs(os.path.join(t.out, "docs"))
    t.write("outside/docs/a.txt", "doc")
    t.policy([(t.out + "/docs", "read"), (t.ws, "write")], minimal=True)
    rc, out, err = t.sh(f"cat {t.out}/docs/a.txt; printf x >> {t.out}/docs/a.txt || echo denied")
    eq((rc, out), (0, "docdenied\n"))
    eq(t.read("outside/docs/a.txt"), "doc", "host file")


@case
def missing_writable_root_is_ignored(t):
    t.policy([("/", "read"), (t.ws, "write"), (t.base + "/missing", "write")])
    rc, out, _ = t.sh("printf ok")
    eq((rc, out), (0, "ok"))
    eq(t.exists("missing"), False, "missing root created")


@case
def workspace_at_slash_is_writable_with_its_carveouts(t):
    """A workspace root at / (`csb-resolve -C /` with :workspace, entries as
    it writes them): / is bound read-write, not silently read-only, and the
    protected names at / stay read-only and uncreatable, their mount targets
    removed afterwards."""
    if CODEX is not None:
        raise Skip("the same path (/) for the read and write entries has no TOML spelling here")
    names = (".agents", ".codex", ".csb", ".git")
    before = [n for n in names if os.path.lexists("/" + n)]
    entries = [("/", "read", ":root"), ("/", "write", ":workspace_roots")]
    entries += [("/" + n, "read", ":workspace_roots/" + n) for n in (".agents", ".codex", ".git")]
    with open(t.pfile, "w") as f:
        f.write(sandbox.policy_gen.policy("/", entries))
    try:
        rc, out, _ = t.run(["/bin/sh", "-c",
                            f"printf w > {t.out}/from-slash && cat {t.out}/from-slash; "
                            f"for n in {' '.join(names)}; do mkdir -p /$n/x 2>/dev/null && echo made-$n; done; "
                            "echo end"], cwd="/")
    finally:
        made = [n for n in names if os.path.lexists("/" + n) and n not in before]
        for n in made:
            shutil.rmtree("/" + n, ignore_errors=True)
    eq((rc, out), (0, "wend\n"))
    eq(t.read("outside/from-slash"), "w", "host file")
    eq(made, [], "protected names left at / after the run")
    if os.geteuid() != 0:
        # another user cannot create anything at /, in the sandbox as on the
        # host: no mount target is needed (bubblewrap could not make one)
        rc, out, err = t.run(["true"], extra=["--explain"], cwd="/")
        eq(rc, 0, "--explain (%s)" % err)
        for n in (".git", ".codex"):
            contains(out, f"missing /{n} (", "--explain")
        contains(out, f"kept impossible to create by the host's permissions: uid {os.geteuid()} cannot "
                      "create entries in / ", "--explain")
        eq("host mount target" in out, False, "mount targets in --explain")


@case
def git_dir_is_read_only(t):
    t.write("ws/.git/config", "[core]\n")
    os.makedirs(os.path.join(t.ws, ".git/hooks"))
    rc, out, _ = t.sh("printf x >> .git/config 2>/dev/null && echo wrote-config; "
                      "printf '#!/bin/sh\\n' > .git/hooks/pre-commit 2>/dev/null && echo wrote-hook; "
                      "printf ok > file && cat file")
    eq((rc, out), (0, "ok"))
    eq(t.read("ws/.git/config"), "[core]\n", "config")
    eq(t.exists("ws/.git/hooks/pre-commit"), False, "hook created")


@case
def missing_git_cannot_be_created(t):
    rc, out, _ = t.sh("mkdir .git/hooks 2>/dev/null && echo made-hooks; "
                      "(git init -q . >/dev/null 2>&1 && echo git-init-ok) || echo git-init-failed; "
                      "test -d .git && echo dir-exists")
    eq((rc, out), (0, "git-init-failed\ndir-exists\n"))
    eq(t.exists("ws/.git"), False, "host .git left behind")


@case
def missing_codex_cannot_be_created(t):
    rc, out, _ = t.sh("mkdir -p .codex 2>/dev/null; echo 'sandbox_mode = \"danger-full-access\"' "
                      "> .codex/config.toml 2>/dev/null || echo blocked")
    eq((rc, out), (0, "blocked\n"))
    eq(t.exists("ws/.codex"), False, "host .codex left behind")


@case
def existing_agents_and_csb_are_read_only(t):
    t.write("ws/.agents/AGENTS.md", "rules")
    t.write("ws/.csb/x", "x")
    rc, out, _ = t.sh("cat .agents/AGENTS.md; printf y > .agents/new 2>/dev/null || echo a-blocked; "
                      "rm .csb/x 2>/dev/null || echo c-blocked")
    eq((rc, out), (0, "rulesa-blocked\nc-blocked\n"))
    eq(t.exists("ws/.agents/new"), False, "created")


@case
def gitdir_pointer_target_is_read_only(t):
    real = os.path.join(t.base, "real.git")
    os.makedirs(real)
    t.write("real.git/HEAD", "ref: refs/heads/main\n")
    t.write("ws/.git", f"gitdir: {real}\n")
    t.policy([("/", "read"), (t.ws, "write"), (t.base, "write")])
    rc, out, _ = t.sh(f"printf x > {real}/HEAD 2>/dev/null || echo target-blocked; "
                      "printf 'gitdir: /tmp' > .git 2>/dev/null || echo pointer-blocked; "
                      f"printf ok > {t.base}/other && cat {t.base}/other")
    eq((rc, out), (0, "target-blocked\npointer-blocked\nok"))
    eq(t.read("real.git/HEAD"), "ref: refs/heads/main\n", "HEAD")


@case
def missing_gitdir_target_cannot_be_created(t):
    # repo/.git points at a gitdir that does not exist (yet): created from
    # inside, with hooks, git outside the sandbox would run them.
    t.write("ws/repo/.git", "gitdir: ../wt\n")
    t.policy([("/", "read"), (t.ws, "write"), (t.ws + "/repo", "write")])
    rc, out, _ = t.sh("mkdir -p ../wt/hooks 2>/dev/null || echo target-blocked; "
                      "printf ok > ../other && cat ../other", cwd=t.ws + "/repo")
    eq((rc, out), (0, "target-blocked\nok"))
    eq(t.exists("ws/wt"), False, "gitdir target left on the host")


def resolve_policy(t, args, env):
    """Writes the policy csb-resolve (CSB_TEST_RESOLVE) prints for `args`
    with `env` (no system layer or requirements) to the policy file."""
    resolver = os.environ.get("CSB_TEST_RESOLVE")
    if not resolver:
        raise Skip("no csb-resolve given (CSB_TEST_RESOLVE)")
    full = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env}
    for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if var in os.environ:
            full[var] = os.environ[var]
    p = subprocess.run([resolver, "--system-config", "/dev/null", "--requirements", "/dev/null", *args],
                       env=full, capture_output=True, text=True, timeout=TIMEOUT)
    eq(p.returncode, 0, "csb-resolve exit (%s)" % p.stderr)
    with open(t.pfile, "w") as f:
        f.write(p.stdout)


@case
def config_homes_below_the_workspace_are_read_only(t):
    """A workspace above the configuration homes (`csb-resolve -P
    :workspace -C /home`; BASE/ws stands for /home, HOME is BASE/ws/u): the
    command writes in the home, but cannot rewrite the next session's
    configuration in ~/.codex, create ~/.csb, or move the home away and
    recreate it."""
    home = os.path.join(t.ws, "u")
    t.write("ws/u/.codex/config.toml", 'sandbox_mode = "read-only"\n')
    # codex (differential): the same filesystem, `/` readable and the workspace writable
    t.policy([("/", "read"), (t.ws, "write")])
    if CODEX is None:
        resolve_policy(t, ["-P", ":workspace", "-C", t.ws], {"HOME": home})
    danger = 'sandbox_mode = "danger-full-access"'
    rc, out, err = t.sh(f"printf '{danger}' > .codex/config.toml 2>/dev/null && echo wrote-codex; "
                        "mv .codex .codex.old 2>/dev/null && echo moved-codex; "
                        f"mkdir -p .csb 2>/dev/null; printf '{danger}' > .csb/config.toml 2>/dev/null && echo wrote-csb; "
                        "mv ../u ../u.old 2>/dev/null && echo moved-home; "
                        "printf ok > notes && cat notes", cwd=home)
    eq((rc, out), (0, "ok"), err)
    eq(t.read("ws/u/.codex/config.toml"), 'sandbox_mode = "read-only"\n', "host ~/.codex/config.toml")
    eq(sorted(os.listdir(home)), [".codex", "notes"], "host home")
    eq(sorted(os.listdir(t.ws)), ["u"], "host workspace")


@case
def proxy_ca_key_is_hidden_from_the_command(t):
    """csb-proxy's MITM CA directory in its default place ($CSB_HOME/proxy)
    is denied by the policy csb-resolve writes (the command could otherwise
    read the key and issue certificates every client of the proxy trusts),
    with the certificate next to it."""
    if CODEX is not None:
        raise Skip("csb-resolve's policy")
    t.write("outside/csb/proxy/ca.key", "PRIVATE")
    t.write("outside/csb/proxy/ca.pem", "CERT")
    resolve_policy(t, ["-P", ":workspace", "-C", t.ws], {"HOME": t.base, "CSB_HOME": t.out + "/csb"})
    rc, out, _ = t.sh(f"cat {t.out}/csb/proxy/ca.key 2>/dev/null || echo hidden; "
                      f"cat {t.out}/csb/proxy/ca.pem 2>/dev/null || echo cert-hidden")
    eq((rc, out), (0, "hidden\ncert-hidden\n"))


@case
def proxy_ca_key_created_after_resolving_is_hidden(t):
    """The key csb-proxy creates after the policy was written (its first
    interception, mid-session) is hidden too: the directory is masked,
    not a key that did not exist yet."""
    if CODEX is not None:
        raise Skip("csb-resolve's policy")
    os.makedirs(t.out + "/csb/proxy", mode=0o700)
    resolve_policy(t, ["-P", ":workspace", "-C", t.ws], {"HOME": t.base, "CSB_HOME": t.out + "/csb"})
    t.write("outside/csb/proxy/ca.key", "PRIVATE")
    rc, out, _ = t.sh(f"cat {t.out}/csb/proxy/ca.key 2>/dev/null || echo hidden")
    eq((rc, out), (0, "hidden\n"))


@case
def writable_file_inside_writable_root(t):
    """A write entry naming a regular file below a writable root (under a
    read-only carve-out, or not) is bound read-write at its path: it runs,
    and only that file can be written."""
    t.write("ws/docs/a.md", "A")
    t.write("ws/docs/log", "L")
    t.write("ws/top", "T")
    for entries in ([(t.ws + "/docs/log", "write")],
                    [(t.ws + "/docs", "read"), (t.ws + "/docs/log", "write"), (t.ws + "/top", "write")]):
        t.policy([("/", "read"), (t.ws, "write")] + entries)
        rc, out, err = t.sh("printf + >> docs/log && echo log; printf B > docs/a.md 2>/dev/null && echo a; "
                            "printf + >> top && echo top")
        docs_ro = len(entries) > 1
        eq((rc, out), (0, "log\n" + ("" if docs_ro else "a\n") + "top\n"), err)
    eq(t.read("ws/docs/log"), "L++", "host log")
    eq(t.read("ws/docs/a.md"), "B", "host a.md")
    eq(t.read("ws/top"), "T++", "host top")


@case
def denied_symlink_hides_its_target_even_where_the_link_is_hidden(t):
    """A deny entry naming a symlink hides what it points at, also when the
    link itself is not in the sandbox's view (under a denied directory,
    or outside every readable root): the target stays reachable by its
    own path otherwise."""
    t.write("outside/pub/secret", "S")
    t.write("outside/pub/other", "O")
    os.makedirs(os.path.join(t.ws, "d"))
    os.symlink(t.out + "/pub/secret", os.path.join(t.ws, "d", "lnk"))
    os.symlink(t.out + "/pub/secret", os.path.join(t.base, "lnk2"))
    script = f"cat {t.out}/pub/other; cat {t.out}/pub/secret 2>/dev/null || echo hidden"
    for entries in ([("/", "read"), (t.ws + "/d", "deny"), (t.ws + "/d/lnk", "deny")],
                    [(t.out + "/pub", "read"), (t.ws, "write"), (t.base + "/lnk2", "deny")]):
        t.policy(entries, minimal=True)
        rc, out, err = t.sh(script)
        eq((rc, out), (0, "Ohidden\n"), err)


@case
def rule_below_a_symlinked_nested_writable_root_is_refused(t):
    """A nested writable root that is a symlink inside a writable root
    (dangling, so not bound at all, or leading to a directory) is a symlink
    the command could retarget: a deny rule below it is refused, naming the
    link and the outer root, and nothing runs."""
    os.makedirs(os.path.join(t.ws, "real"))
    os.symlink("missing", os.path.join(t.ws, "dangling"))
    os.symlink("real", os.path.join(t.ws, "lnk"))
    for name in ("dangling", "lnk"):
        link = os.path.join(t.ws, name)
        t.policy([("/", "read"), (t.ws, "write"), (link, "write"), (link + "/x", "deny")])
        rc, out, err = t.sh(f"touch {t.ws}/ran")
        eq((rc, out), (69, ""), err)
        what = "deny-read path " + link + "/x" if name == "dangling" else "readable root " + link
        contains(err, f"cannot enforce {what} because it crosses symlink {link} inside writable root {t.ws} ")
        eq(t.exists("ws/ran"), False, "command ran")
    eq(sorted(os.listdir(t.ws)), ["dangling", "lnk", "real"], "workspace")
    eq(os.listdir(os.path.join(t.ws, "real")), [], "real")


@case
def deny_glob_matching_a_nested_writable_root_masks_it(t):
    """A deny glob that matches a nested writable root denies it (a glob
    match cannot be re-opened): the run goes ahead with the root masked,
    instead of being refused as if its bind had been swapped."""
    t.write("ws/a/f", "secret")
    t.write("ws/top", "T")
    t.policy([("/", "read"), (t.ws, "write"), (t.ws + "/a", "write")], globs=[t.ws + "/[a]"])
    rc, out, err = t.sh("cat a/f 2>/dev/null || echo hidden; touch a/new 2>/dev/null && echo created; "
                        "printf + >> top && cat top")
    eq((rc, out), (0, "hidden\nT+"), err)
    eq(sorted(os.listdir(t.ws + "/a")), ["f"], "host a/")
    # a nested root inside a directory the glob masks too: its own mask stays
    t.write("ws/b/c/f", "secret")
    t.policy([("/", "read"), (t.ws, "write"), (t.ws + "/b/c", "write")], globs=[t.ws + "/**"])
    rc, out, err = t.sh(f"cat {t.ws}/b/c/f 2>/dev/null || echo hidden; touch {t.ws}/b/c/new 2>/dev/null && echo created; "
                        "echo end", cwd=t.base)
    eq((rc, out), (0, "hidden\nend\n"), err)
    eq(sorted(os.listdir(t.ws + "/b/c")), ["f"], "host b/c/")


@case
def symlinked_writable_root_is_writable_through_its_link(t):
    """A write entry naming a symlink is bound at its target, and the path
    as written leads there read-write, also where the link itself is not
    visible (below a deny mask, or outside every readable root): it is
    recreated, not bound read-only at the link's path."""
    os.makedirs(os.path.join(t.out, "tree", "data"))
    os.symlink("data", os.path.join(t.out, "tree", "lnk"))
    tree = os.path.join(t.out, "tree")
    for entries, minimal in (([("/", "read"), (tree, "deny"), (tree + "/lnk", "write")], False),
                             ([(tree + "/lnk", "write")], True)):
        t.policy(entries, minimal=minimal)
        rc, out, err = t.sh(f"printf a > {tree}/lnk/f && readlink {tree}/lnk && printf b >> {tree}/data/f && "
                            f"cat {tree}/lnk/f", cwd=tree + "/data")
        eq((rc, out), (0, "data\nab"), err)
        os.unlink(os.path.join(tree, "data", "f"))


@case
def readable_symlink_inside_a_readable_root_reaches_its_target(t):
    """Under restricted reads, a read entry naming a symlink that lies in
    another readable root (so the host's link shows through that bind) is
    readable through the link: its target is bound too, and nothing else
    beside it."""
    t.write("outside/secret", "S")
    t.write("outside/other", "O")
    os.symlink(t.out + "/secret", os.path.join(t.ws, "lnk"))
    t.policy([(t.ws, "read"), (t.ws + "/lnk", "read")], minimal=True)
    rc, out, err = t.sh(f"cat lnk; cat {t.out}/other 2>/dev/null || echo other-hidden")
    eq((rc, out), (0, "Sother-hidden\n"), err)


@case
def read_entries_below_the_target_of_a_symlinked_writable_root_stay_read_only(t):
    """A writable root that is a symlink is bound at its target; read
    entries written below that target by its own path are carve-outs of it
    (existing or not), as they are below a root written as its target."""
    tree = os.path.join(t.out, "tree")
    t.write("outside/tree/ro/f", "R")
    t.write("outside/tree/w", "W")
    os.symlink(tree, os.path.join(t.ws, "lnk"))
    t.policy([("/", "read"), (t.ws + "/lnk", "write"), (tree + "/ro", "read"), (tree + "/later", "read")])
    rc, out, err = t.sh(f"printf + >> {tree}/w && echo w; printf + >> {tree}/ro/f 2>/dev/null && echo ro; "
                        f"printf + >> lnk/ro/f 2>/dev/null && echo ro-via-link; mkdir {tree}/later 2>/dev/null && echo later; true")
    eq((rc, out), (0, "w\n"), err)
    eq(t.read("outside/tree/ro/f"), "R", "host ro/f")
    eq(sorted(os.listdir(tree)), ["ro", "w"], "host tree")
    # a read entry written through a symlink outside every writable root
    # (ro-link, in a read-only directory) that leads below one
    os.makedirs(os.path.join(t.out, "links"))
    os.symlink(tree + "/ro", os.path.join(t.out, "links", "ro-link"))
    t.policy([("/", "read"), (tree, "write"), (t.out + "/links/ro-link/f", "read"),
              (t.out + "/links/ro-link/later", "read")])
    rc, out, err = t.sh(f"printf + >> {tree}/w && echo w; printf + >> {tree}/ro/f 2>/dev/null && echo ro; "
                        f"mkdir {tree}/ro/later 2>/dev/null && echo later; true")
    eq((rc, out), (0, "w\n"), err)
    eq(t.read("outside/tree/ro/f"), "R", "host ro/f")
    eq(sorted(os.listdir(tree + "/ro")), ["f"], "host ro/")


@case
def missing_denied_path_written_through_a_symlink_cannot_be_created(t):
    """A deny entry naming a missing path through a symlink that leads
    into a writable root (/out/lnk/new, lnk -> the workspace) keeps the
    path it leads to uncreatable, as a missing denied path written
    directly."""
    os.symlink(t.ws, os.path.join(t.out, "lnk"))
    t.policy([("/", "read"), (t.ws, "write"), (t.out + "/lnk/new", "deny")])
    rc, out, err = t.sh(f"mkdir {t.ws}/new 2>/dev/null && echo made-dir; printf x > {t.out}/lnk/new 2>/dev/null "
                        "&& echo made-file; printf ok > other && cat other")
    eq((rc, out), (0, "ok"), err)
    eq(sorted(os.listdir(t.ws)), ["other"], "host workspace")


@case
def deny_glob_matching_a_readable_symlink_hides_it(t):
    """A read entry naming a symlink whose link is not visible is bound at
    the link's path; a deny glob that matches that link (a glob match
    cannot be re-opened) hides it there as well as at its target."""
    t.write("outside/d/f", "secret")
    os.symlink("d", os.path.join(t.out, "lnk"))
    t.policy([(t.out + "/lnk", "read"), (t.ws, "write")], minimal=True, globs=[t.out + "/*"])
    rc, out, err = t.sh(f"cat {t.out}/lnk/f 2>/dev/null || echo hidden; cat {t.out}/d/f 2>/dev/null || echo hidden")
    eq((rc, out), (0, "hidden\nhidden\n"), err)


@case
def read_only_carveout_existing(t):
    t.write("ws/docs/a.md", "A")
    t.policy([("/", "read"), (t.ws, "write"), (t.ws + "/docs", "read")])
    rc, out, _ = t.sh("cat docs/a.md; printf B > docs/a.md 2>/dev/null || echo blocked; printf c > top && cat top")
    eq((rc, out), (0, "Ablocked\nc"))
    eq(t.read("ws/docs/a.md"), "A", "host")


@case
def read_only_carveout_missing_is_uncreatable_and_cleaned(t):
    t.policy([("/", "read"), (t.ws, "write"), (t.ws + "/build/out", "read")])
    rc, out, _ = t.sh("mkdir -p build/out 2>/dev/null || echo blocked; test -f build && echo placeholder")
    eq((rc, out), (0, "blocked\nplaceholder\n"))
    eq(t.exists("ws/build"), False, "host placeholder left behind")


@case
def deny_directory_under_writable_root(t):
    t.write("ws/secret/key", "KEY")
    t.policy([("/", "read"), (t.ws, "write"), (t.ws + "/secret", "deny")])
    rc, out, _ = t.sh("cat secret/key 2>/dev/null || echo no-read; ls secret >/dev/null 2>&1 || echo no-list; "
                      "printf x > secret/key 2>/dev/null || echo no-write")
    eq((rc, out), (0, "no-read\nno-list\nno-write\n"))
    eq(t.read("ws/secret/key"), "KEY", "host")


@case
def deny_file_under_writable_root(t):
    t.write("ws/.env", "TOKEN=1")
    t.policy([("/", "read"), (t.ws, "write"), (t.ws + "/.env", "deny")])
    rc, out, _ = t.sh("cat .env 2>/dev/null || echo no-read; test -r .env || echo unreadable; "
                      "printf x > .env 2>/dev/null || echo no-write")
    eq((rc, out), (0, "no-read\nunreadable\nno-write\n"))
    eq(t.read("ws/.env"), "TOKEN=1", "host")


@case
def deny_missing_path_cannot_be_created(t):
    t.policy([("/", "read"), (t.ws, "write"), (t.ws + "/later.key", "deny")])
    rc, out, _ = t.sh("printf x > later.key 2>/dev/null || echo blocked; cat later.key 2>/dev/null || echo unreadable")
    eq((rc, out), (0, "blocked\nunreadable\n"))
    eq(t.exists("ws/later.key"), False, "host placeholder left behind")


@case
def writable_child_reopens_denied_parent(t):
    os.makedirs(os.path.join(t.ws, "blocked/allowed"))
    t.write("ws/blocked/hidden.txt", "hidden")
    t.policy([("/", "read"), (t.ws, "write"), (t.ws + "/blocked", "deny"),
              (t.ws + "/blocked/allowed", "write")])
    rc, out, _ = t.sh("printf allowed > blocked/allowed/note.txt && cat blocked/allowed/note.txt; echo; "
                      "cat blocked/hidden.txt 2>/dev/null || echo hidden-denied; "
                      "ls blocked 2>/dev/null || echo list-denied")
    eq((rc, out), (0, "allowed\nhidden-denied\nlist-denied\n"))
    eq(t.read("ws/blocked/allowed/note.txt"), "allowed", "host")


@case
def denied_file_below_which_a_rule_cannot_exist_stays_hidden(t):
    """A read or write entry naming a path below a regular file that a
    deny entry hides (/ws/blocked=deny, /ws/blocked/f a file,
    /ws/blocked/f/x=read) keeps the file in place so that nothing can be
    created below it, masked: its content does not show through the deny
    mask."""
    t.write("ws/blocked/f", "secret")
    for access in ("read", "write"):
        t.policy([("/", "read"), (t.ws, "write"), (t.ws + "/blocked", "deny"),
                  (t.ws + "/blocked/f/x", access)])
        rc, out, err = t.sh("cat blocked/f 2>/dev/null || echo f-denied; "
                            "mkdir blocked/f/x 2>/dev/null || echo x-refused")
        eq((rc, out), (0, "f-denied\nx-refused\n"), f"{access} (stderr {err!r})")
    eq(t.read("ws/blocked/f"), "secret", "host")


@case
def deny_under_root_read(t):
    t.write("outside/blocked/secret.txt", "s")
    t.policy([("/", "read"), (t.ws, "write"), (t.out + "/blocked", "deny")])
    rc, out, _ = t.sh(f"cat {t.out}/blocked/secret.txt 2>/dev/null || echo denied")
    eq((rc, out), (0, "denied\n"))


@case
def nested_writable_after_read_only_parent(t):
    os.makedirs(os.path.join(t.ws, "docs/public"))
    t.policy([("/", "read"), (t.ws, "write"), (t.ws + "/docs", "read"), (t.ws + "/docs/public", "write")])
    rc, out, _ = t.sh("printf p > docs/public/p.txt && cat docs/public/p.txt; "
                      "printf d > docs/d.txt 2>/dev/null || echo docs-ro")
    eq((rc, out), (0, "pdocs-ro\n"))


@case
def directories_on_the_way_to_nested_rules_cannot_be_renamed(t):
    """A nested writable root, a read-only carve-out and a deny entry below
    plain directories of a writable root: renaming such a directory would
    carry the mount along and free the path for a new, unprotected one (a
    fresh .git with hooks at the nested workspace's path)."""
    repo = os.path.join(t.ws, "projects", "repo")
    os.makedirs(os.path.join(repo, ".git"))
    t.write("ws/docs/spec/v1.txt", "spec")
    t.write("ws/conf/app/secret.env", "KEY")
    t.policy([("/", "read"), (t.ws, "write"), (repo, "write"), (t.ws + "/docs/spec", "read"),
              (t.ws + "/conf/app/secret.env", "deny")])
    rc, out, _ = t.sh("for d in projects docs conf/app; do mv $d $d.old 2>/dev/null && echo moved $d || echo kept $d; done; "
                      "mkdir -p projects/repo/.git 2>/dev/null; echo x > projects/repo/.git/hook 2>/dev/null || echo git-read-only; "
                      "echo x > conf/app/secret.env 2>/dev/null || echo deny-kept; "
                      "touch docs/new && rm docs/new && echo docs-writable")
    eq((rc, out), (0, "kept projects\nkept docs\nkept conf/app\ngit-read-only\ndeny-kept\ndocs-writable\n"))
    eq(sorted(os.listdir(t.ws)), ["conf", "docs", "projects"], "host workspace")
    eq(os.listdir(os.path.join(repo, ".git")), [], "host .git")
    eq(t.read("ws/conf/app/secret.env"), "KEY", "host denied file")


@case
def deny_glob_masks_matches(t):
    t.write("ws/a.env", "A")
    t.write("ws/sub/deep/b.env", "B")
    t.write("ws/sub/c.txt", "C")
    t.policy([("/", "read"), (t.ws, "write")], globs=[t.ws + "/**/*.env"])
    rc, out, _ = t.sh("cat a.env 2>/dev/null || echo a-denied; cat sub/deep/b.env 2>/dev/null || echo b-denied; cat sub/c.txt")
    eq((rc, out), (0, "a-denied\nb-denied\nC"))


@case
def deny_glob_over_a_directory_searched_but_not_listed(t):
    """A directory the command may search but not list (mode 0311, its
    own) holds a match: its name opens without being listed, and its owner
    could chmod it. Run by root, csb-bwrap lists it and masks the match;
    run by its owner, a walk that skipped it would leave the match
    readable, so the run is refused. A glob that only names one entry
    there needs no listing: the match is masked either way."""
    t.write("ws/vault/prod.env", "SECRET")
    t.write("ws/plain.txt", "plain")
    os.chmod(os.path.join(t.ws, "vault"), 0o311)
    try:
        t.policy([("/", "read"), (t.ws, "write")], globs=[t.ws + "/*/prod.env"])
        looked_up = t.sh("cat vault/prod.env 2>/dev/null || echo denied; cat plain.txt")
        t.policy([("/", "read"), (t.ws, "write")], globs=[t.ws + "/**/*.env"])
        rc, out, err = t.sh("cat vault/prod.env 2>/dev/null || echo denied; cat plain.txt")
    finally:
        os.chmod(os.path.join(t.ws, "vault"), 0o755)
    eq(looked_up[:2], (0, "denied\nplain"), "with a glob naming one entry there (%s)" % looked_up[2])
    if os.geteuid() == 0:
        eq((rc, out), (0, "denied\nplain"))
        return
    if CODEX:
        raise Skip("csb's refusal: a directory the deny glob cannot be expanded in")
    eq((rc, out), (69, ""), err)
    contains(err, f"cannot list `{t.ws}/vault` (Permission denied), although a command run as this "
                  "user could reach what it holds (it belongs to this user, who may make it readable)",
             "stderr")


@case
def deny_glob_masks_matches_with_any_bytes_in_their_names(t):
    """Matches whose names hold glob metacharacters, backslashes, spaces,
    newlines, non-UTF-8 bytes or 255 bytes, in a hidden directory or 15
    levels of 250-byte names deep: each is masked, and nothing else. One
    whose path is longer than PATH_MAX cannot be masked: the run is
    refused."""
    names = [b"[x].env", b"*.env", b"\\.env", b"sp ace.env", b"new\nline.env",
             b"\xff\xfe.env", b"e" * 251 + b".env", b".hidden/.env", b"{a,b}.env"]
    deep = b"/".join([b"d" * 250] * 15) + b"/deep.env"
    for n in names + [deep, deep.replace(b"deep.env", b"d" * 250 + b"/d" * 100 + b"/x.env")]:
        # one component at a time: `deep` is longer than PATH_MAX
        fd = os.open(t.ws, os.O_RDONLY | os.O_DIRECTORY)
        *dirs, leaf = n.split(b"/")
        for d in dirs:
            try:
                os.mkdir(d, dir_fd=fd)
            except FileExistsError:
                pass
            nfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = nfd
        f = os.open(leaf, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(f, b"SECRET")
        os.close(f)
        os.close(fd)
    t.write("ws/plain.txt", "plain")
    t.policy([("/", "read"), (t.ws, "write")], globs=[t.ws + "/**/*.env"])
    if not CODEX:  # (csb's refusal)
        rc, out, err = t.sh("echo ran")
        eq((rc, out), (69, ""), err)
        contains(err, "cannot enforce deny-read path " + t.ws + "/" + "d" * 250, "stderr")
        contains(err, ": cannot inspect `" + t.ws + "/" + "d" * 250, "stderr")  # (ENAMETOOLONG)
    t.policy([("/", "read"), (t.ws, "write")], globs=[t.ws + "/*.env", t.ws + "/.hidden/*",
                                                       t.ws + "/d*/**/deep.env"])
    prog = ("import os\n"
            "seen = []\n"
            "for d, ds, fs, dfd in os.fwalk(b'.'):\n"
            "    for f in fs:\n"
            "        try:\n"
            "            fd = os.open(f, os.O_RDONLY, dir_fd=dfd)\n"
            "            data = os.read(fd, 100); os.close(fd)\n"
            "        except OSError as e:\n"
            "            data = e.strerror.encode()\n"
            "        seen.append((os.path.join(d, f), data))\n"
            "print(sorted(seen))\n")
    rc, out, err = t.run([PY, "-c", prog], timeout=60)
    eq(rc, 0, err)
    got = dict(eval(out))
    eq(got.pop(b"./plain.txt"), b"plain", "plain.txt")
    eq(got.pop(b"./" + deep.replace(b"deep.env", b"d" * 250 + b"/d" * 100 + b"/x.env")), b"SECRET",
       "the file beyond PATH_MAX (no glob matches it)")
    eq(sorted(got), sorted(b"./" + n for n in names + [deep]), "files seen")
    leaked = [p for p, data in got.items() if data == b"SECRET"]
    eq(leaked, [], "readable matches")


@case
def deny_glob_scan_depth_is_honoured(t):
    t.write("ws/a.env", "A")
    t.write("ws/x/y/z/deep.env", "D")
    t.policy([("/", "read"), (t.ws, "write")], globs=[t.ws + "/**/*.env"], depth=1)
    rc, out, _ = t.sh("cat a.env 2>/dev/null || echo a-denied; cat x/y/z/deep.env")
    eq((rc, out), (0, "a-denied\nD"))


@case
def deny_glob_without_double_star_ignores_scan_depth(t):
    """glob_scan_max_depth caps the expansion of `**` globs; a glob without
    one matches at most as many levels as it has components, and is
    expanded that deep whatever the cap (as csb-winacl does; the policy,
    and Seatbelt's regexes, deny those paths)."""
    if CODEX:
        raise Skip("csb is stricter: codex caps every glob's scan")
    t.write("ws/a/b/c/deep.env", "D")
    t.write("ws/a/b/c/keep.txt", "K")
    t.write("ws/x/y/z/deep.env", "E")
    t.policy([("/", "read"), (t.ws, "write")],
             globs=[t.ws + "/*/b/*/*.env", t.ws + "/**/z/*.env"], depth=1)
    rc, out, _ = t.sh("cat a/b/c/deep.env 2>/dev/null || echo denied; cat a/b/c/keep.txt; echo; "
                      "cat x/y/z/deep.env")
    eq((rc, out), (0, "denied\nK\nE"))


def many_matches(t, n, dirlen):
    """n files matching *.env spread over directories with dirlen-byte
    names, and one file that matches nothing."""
    for i in range(n):
        t.write("ws/d%02d/%s/f%04d.env" % (i // 50, "x" * dirlen, i), "secret")
    t.write("ws/plain.txt", "visible")
    t.policy([("/", "read"), (t.ws, "write")], globs=[t.ws + "/**/*.env"])


# Counts the *.env files below the working directory that can and cannot be
# read, prints the soft open-file limit, then the plain file.
COUNT_READABLE = (
    "import pathlib, resource\n"
    "ok = bad = 0\n"
    "for p in pathlib.Path('.').rglob('*.env'):\n"
    "    try:\n"
    "        p.read_bytes(); ok += 1\n"
    "    except PermissionError:\n"
    "        bad += 1\n"
    "print(ok, bad, resource.getrlimit(resource.RLIMIT_NOFILE)[0])\n"
    "print(open('plain.txt').read())\n")


@case
def deny_glob_with_hundreds_of_matches(t):
    # 600 file masks, one descriptor each for bubblewrap: more than the soft
    # open-file limit the launcher starts with (raised up to the hard one,
    # and the command gets the old one back), and options longer than 128
    # KiB (handed to bubblewrap through --args).
    many_matches(t, 600, 200)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1024:
        raise Skip("hard open-file limit below 1024")
    rc, out, err = t.run([PY, "-c", COUNT_READABLE], nofile=(256, hard), timeout=120)
    eq((rc, out), (0, "0 600 256\nvisible\n"), "readable, unreadable, soft limit (%s)" % err)


@case
def deny_glob_beyond_bubblewrap_limits_fails_closed(t):
    if CODEX:
        raise Skip("csb's refusal: bubblewrap's argument limit")
    # 1,800 file masks need more than the 9,000 arguments bubblewrap parses.
    many_matches(t, 1800, 1)
    rc, out, err = t.sh("echo ran", timeout=120)
    eq((rc, out), (69, ""))
    contains(err, "bubblewrap accepts at most 9000", "stderr")
    # Masks need descriptors: a hard limit too low for them is refused too.
    many_matches(t, 300, 1)
    rc, out, err = t.sh("echo ran", nofile=(128, 128))
    eq((rc, out), (69, ""))
    contains(err, "the hard open-file limit is 128", "stderr")


def glob_stats(t, extra=(), env=None):
    """(directories read, directories reused) of the one deny glob, from
    --explain."""
    rc, out, err = t.run(["true"], extra=("--explain", *extra), env=env)
    eq(rc, 0, "--explain status (%s)" % err)
    m = re.search(r"(\d+) director(?:y|ies) read, (\d+) unchanged since the cached expansion", out)
    if not m:
        raise Fail("no deny glob statistics in --explain:\n" + out)
    return int(m.group(1)), int(m.group(2))


@case
def deny_glob_cache_sees_every_change(t):
    for i in range(4):
        t.write("ws/d%d/keep.txt" % i, "k")
    t.write("ws/d0/a.env", "A")
    t.policy([("/", "read"), (t.ws, "write")], globs=[t.ws + "/**/*.env"])
    time.sleep(2.2)  # the cache trusts directories whose times are over two seconds old
    t.env = cache_env()
    first = glob_stats(t)
    eq(first[1], 0, "directories reused by the first expansion")
    ndirs = first[0]
    eq(glob_stats(t), (0, ndirs), "(read, reused) when nothing changed")
    # A file created after the cached expansion is denied all the same.
    t.write("ws/d2/new.env", "N")
    rc, out, _ = t.sh("cat d0/a.env 2>/dev/null || echo a-denied; "
                      "cat d2/new.env 2>/dev/null || echo new-denied; cat d1/keep.txt")
    eq((rc, out), (0, "a-denied\nnew-denied\nk"))
    read, reused = glob_stats(t)
    # d2, and the workspace root: each run creates and removes its mount
    # targets for the missing .git, .codex, .agents and .csb there.
    eq((read, reused), (2, ndirs - 2), "(read, reused) after one directory changed")
    # And a removed match is no longer masked (nothing to mask), a renamed
    # directory's matches are found under the new name.
    os.rename(os.path.join(t.ws, "d0"), os.path.join(t.ws, "d0-moved"))
    rc, out, _ = t.sh("cat d0-moved/a.env 2>/dev/null || echo moved-denied")
    eq((rc, out), (0, "moved-denied\n"))
    # The cache is csb-bwrap's own: the sandbox cannot see it.
    reg = registry_dir(t.env)
    cache = os.path.join(reg, "glob")
    eq(any(n.startswith("glob-") for n in os.listdir(cache)), True, "a cache file in the registry's glob/")
    eq(any(n.startswith("glob-") for n in os.listdir(reg)), False, "cache files among the registry's records")
    st = os.lstat(cache)
    eq((stat.S_ISDIR(st.st_mode), st.st_uid, stat.S_IMODE(st.st_mode)), (True, os.geteuid(), 0o700), cache)
    rc, out, _ = t.sh("ls -A %s %s 2>/dev/null | grep -c glob || true" % (reg, cache))
    eq(out.strip(), "0", "cache files visible inside the sandbox")
    # --no-glob-cache reads every directory.
    read, reused = glob_stats(t, ("--no-glob-cache",))
    eq((read > 0, reused), (True, 0), "(read, reused) with --no-glob-cache")
    if os.geteuid() != 0 and CODEX is None:
        # XDG_RUNTIME_DIR elsewhere than /run/user/UID, a place no run in
        # another environment hides, is not where the registry (and its
        # cache) goes while /tmp/csb-bwrap-UID can be used.
        xdg = os.path.join(t.base, "xdg")
        os.mkdir(xdg, 0o700)
        rc, _, err = t.run(["true"], env={"XDG_RUNTIME_DIR": xdg})
        eq((rc, err), (0, ""), "a run with XDG_RUNTIME_DIR=%s" % xdg)
        cand = os.path.join(xdg, "csb-bwrap")
        eq(os.listdir(cand) if os.path.isdir(cand) else [], [], "%s (no lock, no cache files)" % cand)


def fscrypt_ioctl(path, nr, arg):
    """The fscrypt ioctl ('f', nr) on `path` with the argument bytes `arg`
    (written back); returns them. nr: 19 set a policy, 23 add a key, 24
    remove one (the size encoded in each request is the kernel's)."""
    size = {19: 12, 23: 80, 24: 64}[nr]
    code = ((2 if nr == 19 else 3) << 30) | (size << 16) | (ord("f") << 8) | nr
    buf = bytearray(arg)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.ioctl(fd, code, buf)
    finally:
        os.close(fd)
    return bytes(buf)


def fscrypt_add_key(mnt):
    """Adds a fixed 64-byte key to the file system at `mnt` (a v2 key, as any
    user may add one); returns its identifier."""
    arg = struct.pack("II32sII32s", 2, 0, b"", 64, 0, b"") + bytes(range(64))
    return fscrypt_ioctl(mnt, 23, arg)[8:24]


def fscrypt_remove_key(mnt, ident):
    fscrypt_ioctl(mnt, 24, struct.pack("II16s16sII20s", 2, 0, ident, b"", 0, 0, b""))


@case
def deny_glob_cache_rereads_encrypted_directories(t):
    """An encrypted directory (fscrypt) lists its entries under other names
    while its key is absent, and adding or removing the key changes none of
    its times: an expansion cached while it was locked must not stand for
    it once it is unlocked."""
    if CODEX:
        raise Skip("csb deny-glob cache")
    if os.geteuid() != 0 or not shutil.which("mkfs.ext4"):
        raise Skip("needs root and mkfs.ext4 (an ext4 image with encryption, loop-mounted)")
    img = os.path.join(t.base, "vault.img")
    with open(img, "wb") as f:
        f.truncate(32 << 20)
    mk = subprocess.run(["mkfs.ext4", "-q", "-F", "-O", "encrypt", img], capture_output=True, text=True)
    vault = os.path.join(t.ws, "vault")
    os.mkdir(vault)
    if mk.returncode != 0 or subprocess.run(["mount", "-o", "loop", img, vault], capture_output=True).returncode != 0:
        raise Skip("cannot make or loop-mount an ext4 image here")
    try:
        try:
            ident = fscrypt_add_key(vault)
            enc = os.path.join(vault, "enc")
            os.mkdir(enc)
            fscrypt_ioctl(enc, 19, struct_policy(ident))
        except OSError as e:
            raise Skip("no fscrypt here: %s" % e)
        with open(os.path.join(enc, "secret.env"), "w") as f:
            f.write("TOKEN\n")
        fscrypt_remove_key(vault, ident)
        eq(any(n.endswith(".env") for n in os.listdir(enc)), False, "names listed while locked")
        t.policy([("/", "read"), (t.ws, "write")], globs=[t.ws + "/**/*.env"])
        time.sleep(2.2)  # settled: the cache trusts what it reads now
        t.env = cache_env()
        for _ in range(2):
            rc, out, err = t.sh("true")
            eq((rc, err), (0, ""), "a run while locked")
        fscrypt_add_key(vault)
        eq(os.listdir(enc), ["secret.env"], "names listed once unlocked")
        rc, out, _ = t.sh("cat vault/enc/secret.env 2>/dev/null || echo denied")
        eq((rc, out), (0, "denied\n"), "the secret once unlocked")
    finally:
        subprocess.run(["umount", vault], capture_output=True)


@case
def deny_glob_cache_sees_mounts_over_recorded_directories(t):
    """A mount over a directory the cache recorded (a bind mount of
    another directory, or a fresh tmpfs) leaves its parent unchanged, but
    the directory at that path now has another device or inode: what the
    mount shows is read, and its matches are masked."""
    if CODEX:
        raise Skip("csb deny-glob cache")
    if os.geteuid() != 0:
        raise Skip("needs root (mounts)")
    t.write("ws/a/keep.txt", "k")
    t.write("ws/b/keep.txt", "k")
    t.write("elsewhere/bound.env", "BOUND\n")
    t.policy([("/", "read"), (t.ws, "write")], globs=[t.ws + "/**/*.env"])
    time.sleep(2.2)  # settled: the cache trusts what it reads now
    t.env = cache_env()
    a, b = os.path.join(t.ws, "a"), os.path.join(t.ws, "b")
    try:
        for _ in range(2):
            eq(t.sh("true")[0], 0, "a run before the mounts")
        subprocess.run(["mount", "--bind", os.path.join(t.base, "elsewhere"), a], check=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "csb-t", b], check=True)
        with open(os.path.join(b, "fresh.env"), "w") as f:
            f.write("FRESH\n")
        rc, out, _ = t.sh("cat a/bound.env 2>/dev/null || echo a-denied; "
                          "cat b/fresh.env 2>/dev/null || echo b-denied")
        eq((rc, out), (0, "a-denied\nb-denied\n"), "matches below the mounts")
    finally:
        subprocess.run(["umount", a], capture_output=True)
        subprocess.run(["umount", b], capture_output=True)


def struct_policy(ident):
    """A v2 fscrypt policy (AES-256-XTS contents, AES-256-CTS names) for the
    key `ident`."""
    return struct.pack("BBBB4s16s", 2, 1, 4, 0, b"", ident)


@case
def too_broad_deny_glob_fails_closed(t):
    t.policy([("/", "read"), (t.ws, "write")], globs=["/**/*.pem"])
    rc, out, err = t.sh("echo ran")
    eq((rc, out), (69, ""))
    contains(err, "too broad", "stderr")


@case
def deny_glob_matching_a_symlink_hides_its_target(t):
    """A deny-glob match that is a symlink inside the workspace: what it
    points at is hidden (outside the workspace or inside it), the rest of the
    workspace stays usable, and retargeting the link shows nothing denied."""
    t.write("outside/keys/prod.env", "SECRET")
    t.write("ws/real/plain.txt", "plain")
    t.write("ws/notes.txt", "notes")
    os.symlink(os.path.join(t.out, "keys/prod.env"), os.path.join(t.ws, "prod.env"))
    os.symlink("real/plain.txt", os.path.join(t.ws, "plain.env"))
    os.symlink("missing-target", os.path.join(t.ws, "dangling.env"))
    t.policy([("/", "read"), (t.ws, "write")], globs=[t.ws + "/**/*.env"], depth=3)
    rc, out, _ = t.sh(f"for f in prod.env plain.env {t.out}/keys/prod.env real/plain.txt; do "
                      "cat $f 2>/dev/null || echo hidden-$f; echo; done; cat notes.txt; echo; "
                      f"ln -sf {t.out}/keys/prod.env again.env && (cat again.env 2>/dev/null || echo hidden-again); "
                      "printf w > real/new && cat real/new")
    eq((rc, out), (0, f"hidden-prod.env\n\nhidden-plain.env\n\nhidden-{t.out}/keys/prod.env\n\n"
                      "hidden-real/plain.txt\n\nnotes\nhidden-again\nw"))
    eq(t.read("outside/keys/prod.env"), "SECRET", "host secret")


@case
def deny_of_a_symlink_to_a_workspace_ancestor_fails_closed(t):
    os.symlink("..", os.path.join(t.ws, "up.env"))
    t.policy([("/", "read"), (t.ws, "write")], globs=[t.ws + "/*.env"])
    rc, out, err = t.sh("echo ran")
    eq((rc, out), (69, ""))
    contains(err, "it is a symlink to " + t.base, "stderr")


@case
def carveout_crossing_writable_symlink_fails_closed(t):
    os.makedirs(os.path.join(t.ws, "decoy"))
    os.symlink("decoy", os.path.join(t.ws, ".codex"))
    rc, out, err = t.sh("echo ran > .codex/config.toml")
    eq((rc, out), (69, ""))
    contains(err, "crosses symlink", "stderr")
    eq(os.listdir(os.path.join(t.ws, "decoy")), [], "decoy written")


@case
def symlinked_writable_root_binds_target(t):
    real = os.path.join(t.out, "real")
    os.makedirs(real)
    link = os.path.join(t.base, "link")
    os.symlink(real, link)
    t.policy([("/", "read"), (t.ws, "write"), (link, "write")])
    rc, out, _ = t.sh(f"printf via-link > {link}/f && cat {real}/f")
    eq((rc, out), (0, "via-link"))


def self_containing_writable_root_refused(t, entries, link, target, canon, **kw):
    t.policy(entries, **kw)
    rc, out, err = t.sh(f"echo ran > {canon}/new")
    eq((rc, out), (69, ""))
    contains(err, f"csb-bwrap: error: cannot enforce writable root {link} with the bubblewrap backend: "
             f"it goes through symlink {link} -> {target}, which lies inside its own target {canon}, "
             f"so binding {canon} read-write would let the sandboxed command retarget the link; "
             f"name {canon} in the policy instead", "stderr")
    eq(os.path.lexists(os.path.join(canon, "new")), False, "written")
    eq(os.readlink(link), target, "link")


@case
def writable_root_linking_to_its_own_ancestor_fails_closed(t):
    """A writable root that is a symlink to a directory holding it (here
    the workspace, read through another link to that directory, and a
    deny glob walking the loop): the bind at the target would make the link
    itself writable. The run used to be refused only by the inner stage,
    for a read-only mask that "changed while the sandbox was set up"."""
    tree = os.path.realpath(t.ws)
    os.makedirs(os.path.join(tree, "d"))
    os.symlink("..", os.path.join(tree, "d", "up"))
    os.symlink("d", os.path.join(tree, "ro"))
    self_containing_writable_root_refused(
        t, [("/", "read"), (os.path.join(tree, "ro"), "read"), (os.path.join(tree, "ro", "later", ".csb"), "read"),
            (os.path.join(tree, "d", "up"), "write"), (os.path.join(tree, "d", "up", "new", "data"), "write")],
        os.path.join(tree, "d", "up"), "..", tree, globs=[tree + "/**/*.env"])


@case
def writable_root_linking_to_its_own_ancestor_below_a_deny_fails_closed(t):
    """The same link inside a deny mask (the write entry re-opening it)."""
    tree = os.path.realpath(os.path.join(t.out, "tree"))
    os.makedirs(os.path.join(tree, "k"))
    os.symlink("..", os.path.join(tree, "k", "up"))
    self_containing_writable_root_refused(
        t, [("/", "read"), (t.ws, "write"), (os.path.join(tree, "k"), "deny"),
            (os.path.join(tree, "k", "up"), "write")],
        os.path.join(tree, "k", "up"), "..", tree)


@case
def dev_nodes_work(t):
    rc, out, _ = t.sh("for n in null zero full random urandom tty; do [ -c /dev/$n ] || echo missing-$n; done; "
                      "echo discard > /dev/null && head -c 16 /dev/urandom | wc -c; head -c 4 /dev/zero | od -An -tx1")
    eq((rc, out), (0, "16\n 00 00 00 00\n"))


@case
def dev_shm_not_allowed_breaks_multiprocessing_lock(t):
    rc, out, err = t.run([PY, "-c", "import multiprocessing as m\ntry:\n  m.Lock(); print('lock-ok')\n"
                          "except OSError as e:\n  print('lock-failed', e.strerror)"])
    eq((rc, out), (0, "lock-failed Read-only file system\n"))


@case
def dev_shm_not_readable_is_empty_and_breaks_multiprocessing_lock(t):
    """Restricted reads that do not list /dev/shm: an empty read-only
    directory, not the host's (nor bubblewrap's writable one)."""
    name = "/dev/shm/csb-bwrap-test-%d" % os.getpid()
    with open(name, "w") as f:
        f.write("host")
    try:
        t.policy([(t.ws, "write")], minimal=True)
        rc, out, err = t.run([PY, "-c", "import multiprocessing as m, os\nprint(os.listdir('/dev/shm'))\n"
                              "try:\n  m.Lock(); print('lock-ok')\n"
                              "except OSError as e:\n  print('lock-failed', e.strerror)"])
        eq((rc, out), (0, "[]\nlock-failed Read-only file system\n"), f"(stderr {err!r})")
    finally:
        os.unlink(name)


@case
def dev_shm_writable_allows_multiprocessing_lock(t):
    t.policy([("/", "read"), (t.ws, "write"), ("/dev/shm", "write")])
    code = ("import multiprocessing as m\n"
            "def f(l):\n  l.acquire(); l.release()\n"
            "if __name__=='__main__':\n  l=m.Lock(); p=m.Process(target=f,args=(l,)); p.start(); p.join();"
            " print('lock-ok', p.exitcode)")
    rc, out, err = t.run([PY, "-c", code])
    eq((rc, out), (0, "lock-ok 0\n"), "output (stderr: %s)" % err)


@case
def dev_shm_writable_root_reaches_host(t):
    name = "/dev/shm/csb-bwrap-test-%d" % os.getpid()
    with open(name, "w") as f:
        f.write("before")
    try:
        t.policy([("/", "read"), (t.ws, "write"), ("/dev/shm", "write")])
        rc, out, _ = t.sh(f"printf sandbox-after > {name}")
        eq(rc, 0)
        with open(name) as f:
            eq(f.read(), "sandbox-after", "host shm file")
    finally:
        os.unlink(name)


@case
def no_new_privs_and_no_capabilities(t):
    """Every capability set is empty: run by root, also the two that
    bubblewrap leaves the inner stage to make the device nodes read-only."""
    rc, out, _ = t.sh("grep -E '^(NoNewPrivs|Seccomp|Cap[A-Za-z]+):' /proc/self/status | tr -d '\\t'")
    eq((rc, out), (0, "CapInh:0000000000000000\nCapPrm:0000000000000000\nCapEff:0000000000000000\n"
                      "CapBnd:0000000000000000\nCapAmb:0000000000000000\nNoNewPrivs:1\nSeccomp:2\n"))


@case
def inner_stage_refuses_retained_capabilities(t):
    """The inner stage runs the command only without capabilities: started
    by hand in a user namespace of its own (every capability, as behind a
    bubblewrap that ignored --cap-drop ALL), it refuses."""
    if CODEX:
        raise Skip("csb inner stage")
    r, w = os.pipe()  # its lifeline: the write end stays open here
    try:
        p = subprocess.run(["unshare", "--user", "--map-root-user", t.bin, "--csb-inner-stage", "--net", "restricted",
                            "--lifeline-fd", str(r), "--", "/bin/sh", "-c", f"touch {t.ws}/ran"],
                           pass_fds=(r,), capture_output=True, text=True, timeout=TIMEOUT)
    finally:
        os.close(r)
        os.close(w)
    eq((p.returncode, p.stdout), (69, ""), "status (stderr %r)" % p.stderr)
    contains(p.stderr, "the sandbox retained capabilities (effective, permitted or inheritable); refusing to run the "
                       "command")
    eq(t.exists("ws/ran"), False, "command ran")


@case
def inner_stage_refuses_device_nodes_it_cannot_seal(t):
    """Told to make the device nodes read-only where it cannot (started by
    hand in a user namespace of its own, whose capabilities do not reach
    the host's mounts: as behind a bubblewrap that ignored --cap-add), the
    inner stage refuses, naming the step, and the command never runs."""
    if CODEX:
        raise Skip("csb inner stage")
    r, w = os.pipe()
    try:
        p = subprocess.run(["unshare", "--user", "--map-root-user", t.bin, "--csb-inner-stage", "--seal-devnodes",
                            "--net", "restricted", "--lifeline-fd", str(r), "--", "/bin/sh", "-c",
                            f"touch {t.ws}/ran"],
                           pass_fds=(r,), capture_output=True, text=True, timeout=TIMEOUT)
    finally:
        os.close(r)
        os.close(w)
    eq((p.returncode, p.stdout), (69, ""), "status (stderr %r)" % p.stderr)
    contains(p.stderr, "making them read-only for it failed (read-only remount of /dev/null: ")
    contains(p.stderr, "nothing ran (backend: bubblewrap; fix: ")
    eq(t.exists("ws/ran"), False, "command ran")


@case
def proc_shows_only_the_sandbox(t):
    rc, out, _ = t.sh("ls /proc | grep -c '^[0-9]'")
    eq(rc, 0)
    if int(out.strip()) > 4:
        raise Fail("too many processes visible: " + out)


@case
def no_proc_option_gives_empty_proc(t):
    rc, out, _ = t.run(["/bin/sh", "-c", "ls -A /proc | wc -l"], extra=["--no-proc"])
    eq((rc, out.strip()), (0, "0"))


@case
def cwd_and_dash_c(t):
    os.makedirs(os.path.join(t.ws, "sub"))
    rc, out, _ = t.run(["/bin/pwd"], cwd=os.path.join(t.ws, "sub"))
    eq((rc, out), (0, os.path.join(t.ws, "sub") + "\n"))
    rc, out, _ = t.run(["/bin/pwd"], extra=["-C", t.ws], cwd="/")
    eq((rc, out), (0, t.ws + "\n"))


@case
def environment_passes_through(t):
    rc, out, _ = t.sh('printf "%s" "$CSB_TEST_VALUE"', env={"CSB_TEST_VALUE": "kept"})
    eq((rc, out), (0, "kept"))


@case
def mount_targets_removed_after_run(t):
    rc, out, _ = t.sh("ls -A")
    eq(rc, 0)
    eq(sorted(out.split()), [".agents", ".codex", ".csb", ".git"], "masks inside")
    eq(os.listdir(t.ws), [], "host after run")


# Run by removed_mount_targets_are_released_by_a_child_of_their_own in a
# process of its own, which adopts orphans: runs argv (JSON) in cwd with its
# output on a pipe, and reports csb-bwrap's status, what was left in the
# workspace when it had exited, its output (read to the end) and the
# processes it left behind, as (name, status) once they exited.
ADOPT = r"""
import ctypes, json, os, signal, subprocess, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)   # PR_SET_CHILD_SUBREAPER
argv, cwd = json.loads(sys.argv[1]), sys.argv[2]
signal.alarm(60)
r, w = os.pipe()
p = subprocess.Popen(argv, cwd=cwd, stdout=w)
os.close(w)
rc = p.wait()
left = sorted(os.listdir(cwd))
out = b""
while True:
    b = os.read(r, 4096)
    if not b:
        break
    out += b
adopted = []
while True:
    try:
        info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOWAIT)
    except ChildProcessError:
        break
    with open("/proc/%d/comm" % info.si_pid) as f:
        name = f.read().strip()
    _, st = os.waitpid(info.si_pid, 0)
    adopted.append([name, os.waitstatus_to_exitcode(st)])
print(json.dumps({"rc": rc, "left": left, "out": out.decode(), "adopted": adopted}))
"""


def release_is_deferred(path):
    """Whether csb-bwrap leaves the last closes of targets removed from
    the directory `path` to a child: its mount is the root mount, mounted
    with `discard` (read here from /proc/self/fdinfo and mountinfo)."""
    fd = os.open(path, os.O_PATH | os.O_DIRECTORY)
    try:
        with open("/proc/self/fdinfo/%d" % fd) as f:
            mnt = int(next(line.split()[1] for line in f if line.startswith("mnt_id:")))
    finally:
        os.close(fd)
    with open("/proc/self/mountinfo") as f:
        for line in f:
            head, _, tail = line.partition(" - ")
            fields = head.split()
            if int(fields[0]) == mnt:
                opts = fields[5].split(",") + (tail.split()[2].split(",") if len(tail.split()) > 2 else [])
                return fields[4] == "/" and "discard" in opts
    raise Fail("mount %d of %s not in /proc/self/mountinfo" % (mnt, path))


@case
def removed_mount_targets_are_released_by_a_child_of_their_own(t):
    """The mount targets are gone when csb-bwrap exits. Where freeing
    their blocks waits for the device (a file system mounted with
    `discard`), the last reference to each is dropped by a child of
    csb-bwrap's, its keeper, that exits right after it and holds nothing
    of the caller's open (the output pipe reaches its end) -- but only on
    the root mount, which nobody unmounts: a workspace on a file system of
    its own can be unmounted the moment csb-bwrap has exited. A run that
    removes nothing makes no child."""
    if CODEX:
        raise Skip("csb mount targets")
    t.policy()

    def adopt():
        argv, _ = t.argv(["/bin/sh", "-c", "echo ran"])
        p = subprocess.run([PY, "-c", ADOPT, json.dumps(argv), t.ws], capture_output=True, text=True,
                           timeout=TIMEOUT * 2)
        eq(p.returncode, 0, "the adopting process (%s)" % p.stderr)
        return json.loads(p.stdout)

    child = [["csb-bwrap-keep", 0]] if release_is_deferred(t.ws) else []
    eq(adopt(), {"rc": 0, "left": [], "out": "ran\n", "adopted": child}, "targets made")
    if os.geteuid() == 0:
        # the workspace on a file system of its own, unmounted right away
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "csb-ws", t.ws], check=True)
        try:
            eq(adopt(), {"rc": 0, "left": [], "out": "ran\n", "adopted": []}, "targets made on a tmpfs")
            argv, _ = t.argv(["true"])
            rc = subprocess.run(argv, cwd="/").returncode
            unmounted = subprocess.run(["umount", t.ws], capture_output=True, text=True)
        finally:
            subprocess.run(["umount", t.ws], capture_output=True)
        eq((rc, unmounted.returncode, unmounted.stderr), (0, 0, ""), "unmounted right after the run")
    for n in (".agents", ".codex", ".csb", ".git"):
        os.mkdir(os.path.join(t.ws, n))
    eq(adopt(), {"rc": 0, "left": [".agents", ".codex", ".csb", ".git"], "out": "ran\n", "adopted": []},
       "no target made")


@case
def keeper_holds_only_the_targets_while_the_command_runs(t):
    """Where removed targets' last closes are deferred (see above), the
    keeper is started while the command runs: a child of csb-bwrap's that
    holds a path descriptor on each target it made, the masks' memfd and
    the read end of a pipe csb-bwrap holds the other end of -- none of the
    caller's descriptors, no terminal, no pipe but its own -- with every
    signal it can block blocked. It goes when csb-bwrap goes, killed
    included."""
    if CODEX:
        raise Skip("csb mount targets")
    if not release_is_deferred(t.ws):
        raise Skip("the workspace is not on a root mount with `discard`: no keeper")
    t.policy()
    argv, xenv = t.argv(["/bin/sh", "-c", "echo up; sleep 30"])
    p = subprocess.Popen(argv, cwd=t.ws, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.PIPE, env={**os.environ, **xenv})
    try:
        eq(p.stdout.readline(), b"up\n", "the command's first line")
        keepers = [c for c in child_pids(p.pid) if comm(c) == "csb-bwrap-keep"]
        eq(len(keepers), 1, "keepers among csb-bwrap's children %s" % child_pids(p.pid))
        k = keepers[0]
        held, pipes = [], []
        for fd in os.listdir(f"/proc/{k}/fd"):
            target = os.readlink(f"/proc/{k}/fd/{fd}")
            (pipes if target.startswith("pipe:") else held).append(target)
        ws = os.path.realpath(t.ws)
        eq(sorted(held), sorted([os.path.join(ws, n) for n in (".agents", ".codex", ".csb", ".git")] +
                                ["/memfd:csb-bwrap-masks (deleted)"]), "what the keeper holds")
        ours = {os.fstat(f.fileno()).st_ino for f in (p.stdin, p.stdout, p.stderr)}
        eq(len(pipes), 1, "the keeper's pipes")
        if int(pipes[0][len("pipe:["):-1]) in ours:
            raise Fail("the keeper holds one of the caller's pipes")
        launcher = [os.readlink(f"/proc/{p.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{p.pid}/fd")]
        if pipes[0] not in launcher:
            raise Fail("csb-bwrap does not hold the other end of the keeper's pipe %s" % pipes[0])
        with open(f"/proc/{k}/status") as f:
            blocked = int(next(l.split()[1] for l in f if l.startswith("SigBlk:")), 16)
        for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGUSR1):
            if not blocked & (1 << (sig - 1)):
                raise Fail("the keeper does not block %s (SigBlk %x)" % (sig.name, blocked))
        p.kill()
        p.wait(timeout=TIMEOUT)
        wait_for(lambda: not os.path.exists(f"/proc/{k}") or comm(k) != "csb-bwrap-keep",
                 "the keeper to go once csb-bwrap was killed")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        for f in (p.stdin, p.stdout, p.stderr):
            f.close()


@case
def command_runs_as_the_caller(t):
    """The command has the caller's uid and gid (bubblewrap maps them onto
    themselves), and the mount points bubblewrap creates on the host for
    the masks of missing paths belong to the caller, whose csb-bwrap
    removes them after the run."""
    if CODEX:
        raise Skip("csb mount targets")
    t.policy()
    argv, xenv = t.argv(["/bin/sh", "-c", "id -u; id -g; sleep 20"])
    p = subprocess.Popen(argv, cwd=t.ws, stdout=subprocess.PIPE, text=True, env={**os.environ, **xenv})
    try:
        eq((p.stdout.readline(), p.stdout.readline()), (f"{os.geteuid()}\n", f"{os.getegid()}\n"), "uid and gid inside")
        owners = {n: os.lstat(os.path.join(t.ws, n)).st_uid for n in os.listdir(t.ws)}
        eq(owners, {n: os.geteuid() for n in (".agents", ".codex", ".csb", ".git")}, "owners of the mount targets")
    finally:
        p.terminate()
        rc = p.wait(timeout=TIMEOUT)
    eq(rc, 128 + signal.SIGTERM, "exit status")
    eq(os.listdir(t.ws), [], "host after the run")


@case
def missing_paths_in_another_users_directory(t):
    """Masks on missing paths (a read-only carve-out, a deny entry) in a
    directory of another user's (root's) inside a writable root. Root
    creates their mount points there (removed after the run). Another user
    cannot create anything there, inside the sandbox as outside: no mount
    point is made (bubblewrap could not make one) and none is needed. Either
    way the directory cannot be renamed away and replaced by one of the
    command's, where the paths could be created."""
    if CODEX:
        raise Skip("csb mount targets")
    if os.geteuid() == 0:
        parent = os.path.join(t.base, "shared")
        foreign = os.path.join(parent, "foreign")
        os.makedirs(foreign)
    else:
        foreign = os.environ.get("CSB_TEST_FOREIGN_DIR")
        if not foreign:
            raise Skip("no directory of another user's given (CSB_TEST_FOREIGN_DIR, set by --unprivileged)")
        parent = os.path.dirname(foreign)
    gen, key = os.path.join(foreign, "gen"), os.path.join(foreign, "new.key")
    t.policy([("/", "read"), (t.ws, "write"), (parent, "write"), (gen + "/out", "read"), (key, "deny")])
    rc, out, err = t.sh("mkdir -p foreign/gen/out 2>/dev/null || echo gen-blocked; "
                        "touch foreign/new.key 2>/dev/null || echo key-blocked; "
                        "mv foreign foreign.old 2>/dev/null && echo moved || echo pinned; "
                        "printf ok > note && cat note && rm note", cwd=parent)
    eq((rc, out), (0, "gen-blocked\nkey-blocked\npinned\nok"), err)
    eq(os.listdir(foreign), [], "host: the other user's directory")
    eq(sorted(os.listdir(parent)), ["foreign"], "host: the writable root")
    rc, out, err = t.run(["true"], extra=["--explain"])
    eq(rc, 0, "--explain (%s)" % err)
    for p in (gen, key):
        if os.geteuid() == 0:
            contains(out, f"host mount target {p} (empty file) removed after the run", "--explain")
        else:
            contains(out, f"missing {p} (", "--explain")
            contains(out, f"kept impossible to create by the host's permissions: uid {os.geteuid()} cannot "
                          f"create entries in {foreign}", "--explain")


@case
@sandbox.root_only("root creates mount points in a directory whatever its mode")
def mount_targets_in_a_read_only_workspace(t):
    if CODEX:
        raise Skip("csb mount targets")
    os.chmod(t.ws, 0o555)
    try:
        rc, out, _ = t.sh("mkdir .git/x 2>/dev/null || echo git-blocked; ls -A")
    finally:
        os.chmod(t.ws, 0o755)
    eq((rc, sorted(out.split())), (0, [".agents", ".codex", ".csb", ".git", "git-blocked"]))
    eq(os.listdir(t.ws), [], "host after the run")


@sandbox.instead_when_unprivileged(mount_targets_in_a_read_only_workspace)
def read_only_workspace_of_ones_own_is_refused(t):
    """The caller cannot create mount points in a workspace of its own of
    mode 0555, and the command, its owner, could make it writable and
    create .git: the run is refused, naming the fix."""
    os.chmod(t.ws, 0o555)
    try:
        rc, out, err = t.sh(f"touch {t.out}/ran")
    finally:
        os.chmod(t.ws, 0o755)
    eq((rc, out), (69, ""))
    contains(err, f"which bubblewrap cannot create because {t.ws} (mode 0555) is not writable by uid {os.geteuid()}")
    contains(err, f"backend: bubblewrap; fix: chmod u+w {t.ws}")
    eq(t.exists("outside/ran"), False, "command ran")
    eq(os.listdir(t.ws), [], "host after the run")


def has_run(argv, seq):
    """Whether `seq` appears in `argv` as consecutive elements."""
    return any(argv[i:i + len(seq)] == seq for i in range(len(argv)))


@case
@sandbox.root_only("the sandbox's uid 0 is the host's root, which owns pid 1's /proc files: masked")
def pid_1_autogroup_is_masked(t):
    """Run by root, the command (the sandbox's uid 0) would own pid 1's
    /proc/1/autogroup and could renice the supervisor's autogroup: it is
    masked with /dev/null."""
    if CODEX:
        raise Skip("csb pid 1")
    if not os.path.exists("/proc/self/autogroup"):
        raise Skip("no autogroups on this kernel")
    t.policy()
    argv = json.loads(t.run(["true"], extra=["--print-argv"])[1])
    eq(has_run(argv, ["--ro-bind", "/dev/null", "/proc/1/autogroup"]), True, "mask in the argv")
    rc, out, _ = t.sh("(echo 19 > /proc/1/autogroup) 2>/dev/null && echo wrote || echo refused")
    eq((rc, out), (0, "refused\n"))


@sandbox.instead_when_unprivileged(pid_1_autogroup_is_masked)
def pid_1_autogroup_belongs_to_the_hosts_root(t):
    """Another user's sandbox maps no uid of the host's root: pid 1's /proc
    files (it is not dumpable) belong to root, outside the user namespace,
    and the command cannot renice pid 1's autogroup. No mask is needed."""
    if not os.path.exists("/proc/self/autogroup"):
        raise Skip("no autogroups on this kernel")
    t.policy()
    argv = json.loads(t.run(["true"], extra=["--print-argv"])[1])
    eq("/proc/1/autogroup" in argv, False, "mask in the argv")
    rc, out, err = t.sh("cut -c1-11 /proc/1/autogroup; echo 19 > /proc/1/autogroup || echo refused")
    eq((rc, out), (0, "/autogroup-\nrefused\n"))
    contains(err, "Permission denied", "stderr")


@case
def concurrent_runs_keep_each_others_masks(t):
    t.policy()
    argv, xenv = t.argv(["/bin/sh", "-c", "sleep 1.5; mkdir .codex/x 2>/dev/null && echo escaped || echo still-masked"])
    p = subprocess.Popen(argv, cwd=t.ws, stdout=subprocess.PIPE, text=True, env={**os.environ, **xenv})
    time.sleep(0.5)
    rc, out, _ = t.sh("true")
    eq(rc, 0)
    eq(p.communicate(timeout=TIMEOUT)[0], "still-masked\n", "long run")
    eq(os.listdir(t.ws), [], "host after both")


@case
def concurrent_runs_keep_masks_of_missing_paths(t):
    """A masks a missing denied path and a missing read-only path (their mount
    points are created on the host); B, started while A runs, finds those
    empty files: A's cleanup must not delete them under B, which would
    detach B's masks."""
    if CODEX:
        raise Skip("csb cleans up mount targets (codex's placeholders differ)")
    t.policy([("/", "read"), (t.ws, "write"), (t.ws + "/later.key", "deny"), (t.ws + "/build/out", "read")])
    argv, xenv = t.argv(["/bin/sh", "-c", "sleep 1"])
    a = subprocess.Popen(argv, cwd=t.ws, env={**os.environ, **xenv})
    deadline = time.time() + 10
    while not (t.exists("ws/later.key") and t.exists("ws/build")) and time.time() < deadline:
        time.sleep(0.02)
    rc, out, _ = t.sh("sleep 2; printf x > later.key 2>/dev/null || echo blocked; "
                      "cat later.key 2>/dev/null || echo unreadable; mkdir -p build/out 2>/dev/null || echo ro")
    eq(a.wait(timeout=TIMEOUT), 0, "first run")
    eq((rc, out), (0, "blocked\nunreadable\nro\n"))
    eq(os.listdir(t.ws), [], "host after both")


def locked(path):
    """Whether a run holds `path` (a mount point it mounts onto): an
    exclusive lock, which a run needs to remove its mount point, is
    refused."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def proc_state(pid):
    """The state letter of process pid ("T" stopped, "Z" a zombie, ...),
    or "gone"."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"


def wait_for(cond, what, timeout=10):
    deadline = time.time() + timeout
    while not cond():
        if time.time() > deadline:
            raise Fail("timed out waiting for " + what)
        time.sleep(0.02)


@case
@sandbox.root_only("needs a second user: run by root, it runs as root and as uid 65534, in both orders")
def runs_of_two_users_keep_each_others_masks(t):
    """Two users' runs on one writable root that both may write (a sticky
    directory, like /tmp): the first creates the mount points of the masks
    on missing paths, the second mounts onto them as existing entries.
    When the first ends, its cleanup must not remove them (which would
    detach the second's masks: its command could then create .git) although
    its registry does not show the other user's run; they go once neither
    holds them, by a later run of their creator."""
    if CODEX:
        raise Skip("csb mount targets")
    shared = os.path.join(t.base, "shared")
    os.mkdir(shared)
    os.chmod(shared, 0o1777)
    # a policy file and binary the other user can read, a registry of its own
    for d in (os.path.dirname(t.base), t.base):
        os.chmod(d, 0o711)
    xdg = os.path.join(t.base, "xdg")
    os.mkdir(xdg, 0o700)
    os.chown(xdg, 65534, 65534)
    binary = os.path.join(t.base, "csb-bwrap")
    shutil.copy(t.bin, binary)
    os.chmod(binary, 0o755)
    t.policy([("/", "read"), (shared, "write"), (shared + "/later.key", "deny")])
    os.chmod(t.pfile, 0o644)
    nobody = {"user": 65534, "group": 65534, "extra_groups": []}
    env = {**os.environ, "XDG_RUNTIME_DIR": xdg}
    for first, second in ((nobody, {}), ({}, nobody)):
        # each run's command waits for a line on its standard input
        argv = [binary, "--policy", t.pfile, "--", "/bin/sh", "-c"]
        pipes = {"cwd": shared, "env": env, "stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "text": True}
        a = subprocess.Popen(argv + ["echo up; read x"], **pipes, **first)
        eq(a.stdout.readline(), "up\n", "first run")
        b = subprocess.Popen(argv + ["echo up; read x; mkdir -p .git/hooks 2>/dev/null && echo git-made || echo git-blocked; "
                                    "touch later.key 2>/dev/null && echo key-made || echo key-blocked"],
                             **pipes, **second)
        eq(b.stdout.readline(), "up\n", "second run")
        a.communicate("\n", timeout=TIMEOUT)
        eq(a.returncode, 0, "first run's status")
        out, _ = b.communicate("\n", timeout=TIMEOUT)
        eq((b.returncode, out), (0, "git-blocked\nkey-blocked\n"), "second run " + ("as uid 65534" if second else "as root"))
        eq(sorted(os.listdir(shared)), [".agents", ".codex", ".csb", ".git", "later.key"], "left by the first run")
        eq(os.listdir(os.path.join(shared, ".git")), [], "host .git")
        subprocess.run(argv + ["true"], cwd=shared, env=env, check=True, timeout=TIMEOUT, **first)
        eq(os.listdir(shared), [], "after a later run of the first run's user")


@sandbox.instead_when_unprivileged(runs_of_two_users_keep_each_others_masks)
def a_run_holds_the_existing_entries_it_mounts_onto(t):
    """Another user's run that made a mount point (an empty .git, an empty
    file at a denied path) removes it only when it can lock it exclusively:
    a run mounting onto such an existing entry holds it until it ends."""
    if CODEX:
        raise Skip("csb mount targets")
    os.mkdir(os.path.join(t.ws, ".git"))
    t.write("ws/later.key", "")
    t.policy([("/", "read"), (t.ws, "write"), (t.ws + "/later.key", "deny")])
    argv, xenv = t.argv(["/bin/sh", "-c", "echo up; sleep 20"])
    p = subprocess.Popen(argv, cwd=t.ws, stdout=subprocess.PIPE, text=True, env={**os.environ, **xenv})
    try:
        eq(p.stdout.readline(), "up\n", "run")
        eq([locked(os.path.join(t.ws, n)) for n in (".git", "later.key")], [True, True], "held while the run lasts")
    finally:
        p.terminate()
        p.wait(timeout=TIMEOUT)
    eq([locked(os.path.join(t.ws, n)) for n in (".git", "later.key")], [False, False], "held after the run")
    eq(sorted(os.listdir(t.ws)), [".git", "later.key"], "host (entries that were there before stay)")



@case
def a_concurrent_run_does_not_remove_the_mount_points_under_our_masks(t):
    """Two runs start together on one writable root where .git and the
    other protected names are missing, and their registries do not show
    each other's entries: run by root, the other run is uid 65534's, in a
    sticky directory both may write; run by another user, it is the same
    user's with another XDG_RUNTIME_DIR (another registry). Our run makes
    the mount points and holds them before bubblewrap starts; the other
    (started by a bwrap wrapper, so that it plans while they are still
    missing, or finds ours) mounts onto them and ends first. Its cleanup
    must leave them: removed, they would take our masks with them (a
    mount point deleted in the host namespace is detached from every
    other), and our command could then create .git. Ours removes them
    when it ends."""
    if CODEX:
        raise Skip("csb mount targets")
    shared = os.path.join(t.base, "shared")
    os.mkdir(shared)
    os.chmod(shared, 0o1777)
    xdg = os.path.join(t.base, "xdg")
    os.mkdir(xdg, 0o700)
    binary = t.bin
    if os.geteuid() == 0:
        for d in (os.path.dirname(t.base), t.base):
            os.chmod(d, 0o711)
        os.chown(xdg, 65534, 65534)
        binary = os.path.join(t.base, "csb-bwrap")
        shutil.copy(t.bin, binary)
        os.chmod(binary, 0o755)
        as_other = "setpriv --reuid 65534 --regid 65534 --clear-groups "
    else:
        as_other = ""
    t.policy([("/", "read"), (shared, "write")])
    os.chmod(t.pfile, 0o644)
    wait = "i=0; while [ ! -e {0} ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; "
    other = (f"{as_other}env XDG_RUNTIME_DIR={xdg} {binary} --policy {t.pfile} -- /bin/sh -c "
             f"'touch up; {wait.format('go')}'")
    w = fake_bwrap(t, "other-first", f"cd {shared} && ({other} >/dev/null 2>&1; touch {shared}/other-done) &\n"
                   + wait.format(f"{shared}/up") + "\n")
    argv, _ = t.argv(["/bin/sh", "-c", "touch go; " + wait.format("other-done") +
                      "mkdir .git 2>/dev/null && echo git-made || echo git-blocked; "
                      "mkdir .codex 2>/dev/null && echo codex-made || echo codex-blocked"],
                     extra=["--bwrap", w])
    e = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    p = subprocess.run([binary, *argv[1:]], cwd=shared, env=e, capture_output=True, text=True, timeout=TIMEOUT)
    eq((p.returncode, p.stdout, p.stderr), (0, "git-blocked\ncodex-blocked\n", ""))
    eq(sorted(os.listdir(shared)), ["go", "other-done", "up"], "after both runs")

@case
def mount_target_another_run_holds_is_left_for_a_later_run(t):
    """A run's mount point that another run holds (it mounts onto it as an
    existing entry; a run of another user's, whose registry this one cannot
    see) stays after the run, and a later run removes it once it is free."""
    if CODEX:
        raise Skip("csb mount targets")
    t.policy()
    argv, xenv = t.argv(["/bin/sh", "-c", "echo up; read x"])
    p = subprocess.Popen(argv, cwd=t.ws, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                         env={**os.environ, **xenv})
    eq(p.stdout.readline(), "up\n", "run")
    fd = os.open(os.path.join(t.ws, ".git"), os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        p.communicate("\n", timeout=TIMEOUT)
        eq(p.returncode, 0, "run")
        eq(os.listdir(t.ws), [".git"], "host after the run (.git held)")
    finally:
        os.close(fd)
    eq(t.sh("true")[0], 0, "later run")
    eq(os.listdir(t.ws), [], "host after a later run")


PR_SET_CHILD_SUBREAPER = 36

# The moments a launcher is killed at (kill_runs).
MOMENTS = ("start", "setup", "inner", "command")


def child_pids(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


def processes_naming(marker):
    """Live processes with `marker` anywhere in their command line."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


def stage_reached(launcher, moment):
    """Whether csb-bwrap's run reached `moment`: bubblewrap's child exists
    but has not yet executed the inner stage ("setup"), or it has ("inner")."""
    want = {"setup": "bwrap", "inner": ".csb-bwrap"}[moment]
    return any(comm(c) == want for b in child_pids(launcher) for c in child_pids(b))


def kill_at(argv, cwd, env, moment, wait):
    """One run of argv (a command printing a line, then sleeping), SIGKILLed
    at `moment`: right after it started, while bubblewrap sets up, once the
    inner stage runs, once the command printed, or half a second later
    ("later"). Called by a child
    subreaper: whatever the run leaves behind becomes our child. Returns
    whether the moment was seen and what was still running after `wait`
    seconds (then killed)."""
    p = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    seen = True
    if moment in ("command", "later"):
        seen = p.stdout.readline() != b""
        if moment == "later":
            time.sleep(0.5)
    elif moment != "start":
        deadline = time.time() + TIMEOUT
        while not stage_reached(p.pid, moment):
            if p.poll() is not None or time.time() > deadline:
                seen = False
                break
    p.kill()
    p.wait()
    deadline = time.time() + wait
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            p.stdout.close()
            return seen, []
        if pid == 0:
            if time.time() > deadline:
                break
            time.sleep(0.01)
    left = [f"{c} ({comm(c)}, children {child_pids(c)})" for c in child_pids(os.getpid())]
    # kill what is left, and what killing it re-parents to us in turn
    while True:
        for c in child_pids(os.getpid()):
            os.kill(c, signal.SIGKILL)
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            time.sleep(0.01)
    p.stdout.close()
    return seen, left


def kill_runs(argv, cwd, env, moments, wait=10):
    """Runs argv once per entry of `moments` (see kill_at) in a forked child
    that is a child subreaper: every process a killed run leaves behind is
    re-parented to it, and once it has no child left nothing of the run is
    left (the init of a PID namespace exits only after every other process
    in it). Returns, per run, [moment, seen, what was left]."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
            out = [[m, *kill_at(argv, cwd, env, m, wait)] for m in moments]
        except BaseException as e:  # noqa: BLE001
            out = {"error": repr(e)}
        finally:
            try:
                os.write(w, json.dumps(out).encode())
            finally:
                os._exit(0)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    res = json.loads(data)
    if isinstance(res, dict):
        raise Fail(f"killing runs: {res['error']}")
    return res


def check_killed_runs(argv, env, cwd, moments, marker):
    runs = kill_runs(argv, cwd, {**os.environ, **env}, moments)
    left = [(m, l) for m, _, l in runs if l]
    # nothing may have escaped the accounting either
    stray = processes_naming(marker)
    if left or stray:
        ps = subprocess.run(["ps", "-eo", "pid,ppid,stat,wchan:20,args"], capture_output=True, text=True).stdout
        raise Fail(f"processes outlived their killed launcher by 10 s: {left}; naming {marker}: {stray}\n{ps}")
    return runs


@case
def killed_launcher_takes_the_whole_sandbox_down(t):
    """SIGKILL to csb-bwrap at any moment of a run leaves no process of the
    sandbox behind: right after it started, while bubblewrap sets up the
    sandbox (before the inner stage runs), once the inner stage runs, and
    while the command runs."""
    if CODEX:
        raise Skip("csb process tree")
    t.policy()
    marker = "300.%06d" % (os.getpid() * 7919 % 1000000)
    argv, xenv = t.argv(["/bin/sh", "-c", f"echo up; exec sleep {marker}"])
    runs = check_killed_runs(argv, xenv, t.ws, MOMENTS * 3, marker)
    for m in MOMENTS:
        if not any(seen for mm, seen, _ in runs if mm == m):
            raise Fail(f"no run was killed at moment {m!r}: {runs}")


@case
def killed_launcher_takes_down_a_sandbox_whose_pid_1_is_blocked(t):
    """pid 1 blocked in a mediated connect() (the listener's backlog is full
    and nobody accepts) still takes the sandbox down at once when csb-bwrap
    is killed."""
    if CODEX:
        raise Skip("csb connect() mediation")
    path = os.path.join(t.out, "full.sock")
    srv = socket.socket(socket.AF_UNIX)
    queued = []
    try:
        srv.bind(path)
        srv.listen(0)
        while True:
            c = socket.socket(socket.AF_UNIX)
            queued.append(c)
            c.setblocking(False)
            try:
                c.connect(path)
            except BlockingIOError:
                break
        t.policy(unix={path: "allow"})
        marker = "300.%06d" % (os.getpid() * 7919 % 1000000 + 2)
        prog = "import socket,sys; print('up', flush=True); socket.socket(socket.AF_UNIX).connect(sys.argv[1])"
        argv, xenv = t.argv([PY, "-c", prog, path, marker])
        check_killed_runs(argv, xenv, t.ws, ["later"], marker)
    finally:
        for c in queued:
            c.close()
        srv.close()


@case
def killed_run_leftovers_are_removed_by_the_next_run(t):
    t.policy()
    # names this run's sleep, which outlasts the wait by far: a sandbox that
    # survives its launcher cannot pass by finishing
    marker = "300.%06d" % (os.getpid() * 7919 % 1000000 + 1)
    argv, xenv = t.argv(["/bin/sh", "-c", f"echo up; sleep {marker}"])
    # no chance to clean up: the masks' mount points stay behind. The
    # sandbox dies with its launcher, asynchronously: wait (bounded) until
    # none of its processes is left, so that the next run sees a dead owner
    # rather than a sandbox that is still going down
    check_killed_runs(argv, xenv, t.ws, ["command"], marker)
    if CODEX is None:
        # the mount points stay behind; any csb-bwrap run on this host (a
        # concurrent test's, say) may sweep them once their owner is dead,
        # so some may already be gone, but nothing else may appear
        left = sorted(os.listdir(t.ws))
        if not set(left) <= {".agents", ".codex", ".csb", ".git"}:
            raise Fail(f"left behind by the killed run: {left}")
    rc, _, _ = t.sh("true")
    eq(rc, 0)
    eq(os.listdir(t.ws), [], "after the next run")


def registry_dir(env=None):
    """Where csb-bwrap keeps its mount-target registry (docs/csb-bwrap.md),
    run with `env` changing the environment (None removes)."""
    if os.geteuid() == 0:
        return "/run/csb-bwrap"
    x = os.environ.get("XDG_RUNTIME_DIR", "")
    if env and "XDG_RUNTIME_DIR" in env:
        x = env["XDG_RUNTIME_DIR"] or ""
    # elsewhere than /run/user/UID it comes after /tmp's
    if x == "/run/user/%d" % os.geteuid() and os.path.isdir(x) and os.stat(x).st_uid == os.geteuid():
        return os.path.join(x, "csb-bwrap")
    return "/tmp/csb-bwrap-%d" % os.geteuid()


def registry_lock(t):
    """A descriptor on the lock file of the registry a run of case t uses
    (made if missing), for the case to hold it as another run would."""
    reg = registry_dir(t.env)
    os.makedirs(reg, mode=0o700, exist_ok=True)
    return os.open(os.path.join(reg, "lock"), os.O_RDWR | os.O_CREAT, 0o600)


def marking_bwrap(t):
    """A bubblewrap (early_bwrap) that creates a file when it starts
    loading: (that file's path, the wrapper)."""
    mark = os.path.join(t.base, "loading")
    return mark, early_bwrap(t, "marking", f": > {mark}\n")


def cache_env():
    """The environment change under which csb-bwrap's registry is one it
    trusts for its deny-glob cache: root's /run/csb-bwrap, else
    /run/user/UID/csb-bwrap or /tmp/csb-bwrap-UID (without an
    XDG_RUNTIME_DIR elsewhere)."""
    if os.geteuid() == 0 or registry_dir() == "/run/user/%d/csb-bwrap" % os.geteuid():
        return {}
    return {"XDG_RUNTIME_DIR": None}


@case
def other_registry_candidates_are_hidden(t):
    """A directory another run would pick as its registry is created when
    the sandbox could write there and is hidden like the registry in use:
    a command cannot plant cache files (deny-glob expansions) that a later
    run in another environment would trust. Root uses /run/csb-bwrap, and
    /tmp/csb-bwrap-0 is the other; another user with XDG_RUNTIME_DIR uses
    $XDG_RUNTIME_DIR/csb-bwrap, and /tmp/csb-bwrap-UID is the other."""
    if CODEX:
        raise Skip("csb registry")
    uid = os.geteuid()
    other = "/tmp/csb-bwrap-%d" % uid
    env = {}
    if uid != 0:
        xdg = os.path.join(t.base, "xdg")
        os.mkdir(xdg, 0o700)
        env["XDG_RUNTIME_DIR"] = xdg
    t.policy([("/", "read"), (t.ws, "write"), ("/tmp", "write")])
    rc, out, err = t.sh(f"mkdir -p {other} 2>/dev/null; touch {other}/bpf-x 2>/dev/null && echo planted || echo refused; "
                        f"ls {other} >/dev/null 2>&1 && echo listed || echo unlisted; "
                        f"rmdir {other} 2>/dev/null && echo removed || echo kept", env=env)
    eq((rc, out, err), (0, "refused\nunlisted\nkept\n", ""))
    st = os.lstat(other)
    eq((stat.S_ISDIR(st.st_mode), st.st_uid, stat.S_IMODE(st.st_mode)), (True, uid, 0o700), other)
    if uid != 0:
        # with XDG_RUNTIME_DIR elsewhere than /run/user/UID the registry in
        # use is /tmp's; the other is only hidden (created if the sandbox
        # could write there)
        cand = os.path.join(env["XDG_RUNTIME_DIR"], "csb-bwrap")
        eq(os.listdir(cand) if os.path.isdir(cand) else [], [], "the other candidate")
        check_lock = os.path.exists(os.path.join(other, "lock"))
        eq(check_lock, True, "the registry in use, %s, has its lock" % other)


@case
def registry_candidate_behind_a_symlinked_root_is_hidden(t):
    """A registry candidate ($XDG_RUNTIME_DIR/csb-bwrap) in a directory the
    policy makes writable only through a symlink (the writable root is
    bound at its target, a path the policy does not name) is created and
    hidden as well: the command cannot create it and plant files that a
    later run would take for its own."""
    if CODEX:
        raise Skip("csb registry")
    xdg = os.path.join(t.base, "xdg")
    os.mkdir(xdg, 0o700)
    os.symlink(xdg, os.path.join(t.base, "xdglink"))
    cand = os.path.join(xdg, "csb-bwrap")
    t.policy([("/", "read"), (t.ws, "write"), (os.path.join(t.base, "xdglink"), "write")])
    rc, out, err = t.sh(f"mkdir -p {cand} 2>/dev/null; touch {cand}/glob-x 2>/dev/null && echo planted || echo refused; "
                        f"touch {xdg}/other && echo writable",
                        env={"XDG_RUNTIME_DIR": xdg})
    eq((rc, out, err), (0, "refused\nwritable\n", ""))
    # (not the registry in use: that is /run/csb-bwrap or /tmp/csb-bwrap-UID)
    eq(os.listdir(cand), [], cand)
    st = os.lstat(cand)
    eq((stat.S_ISDIR(st.st_mode), st.st_uid, stat.S_IMODE(st.st_mode)), (True, os.geteuid(), 0o700), cand)


def fnv1a(path):
    h = 0xcbf29ce484222325
    for b in path.encode():
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def dead_pid():
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


@case
def earlier_registry_layout_is_honoured(t):
    """A registry entry in the layout of earlier versions (KEY/path plus one
    file per pid): a dead run's target is removed, a live run's is kept."""
    if CODEX:
        raise Skip("csb registry")
    reg = registry_dir()
    t.policy()
    t.sh("true")  # creates the registry
    entries = []
    for name, pid in ((".codex", dead_pid()), (".agents", os.getpid())):
        target = os.path.join(t.ws, name)
        os.mkdir(target)
        d = os.path.join(reg, fnv1a(target))
        os.mkdir(d, 0o700)
        entries.append(d)
        with open(os.path.join(d, "path"), "w") as f:
            f.write(target)
        with open(os.path.join(d, str(pid)), "w") as f:
            f.write("dir\n")
    try:
        rc, out, _ = t.sh("ls -A")
        eq((rc, sorted(out.split())), (0, [".agents", ".codex", ".csb", ".git"]))
        eq(os.listdir(t.ws), [".agents"], "host after the run (kept for the live run)")
        eq(os.path.exists(entries[0]), False, "dead entry swept")
    finally:
        for d in entries:
            shutil.rmtree(d, ignore_errors=True)
    # (the live run would remove its own target; once nothing registers an
    # empty directory it is a pre-existing path and stays)
    t.sh("true")
    eq(os.listdir(t.ws), [".agents"], "unregistered empty directory")


@case
def earlier_registry_layout_symlink_is_not_followed(t):
    """A KEY entry of the earliest layout that is a symlink (a damaged
    registry, or one an earlier run's command could write) is dropped, not
    entered: the sweep deletes a dead run's PID files and `path` in such a
    directory, and must not delete same-named files wherever a link leads."""
    if CODEX:
        raise Skip("csb registry")
    reg = registry_dir()
    t.policy()
    t.sh("true")  # creates the registry
    t.write("outside/path", "user data\n")
    t.write("outside/%d" % dead_pid(), "more user data\n")
    before = sorted(os.listdir(t.out))
    link = os.path.join(reg, fnv1a(os.path.join(t.ws, ".codex")))
    os.symlink(t.out, link)
    try:
        rc, _, _ = t.sh("true")
        eq(rc, 0)
        eq(sorted(os.listdir(t.out)), before, "files where the link led")
        eq(t.read("outside/path"), "user data\n", "outside/path")
        eq(os.path.lexists(link), False, "unusable entry dropped")
    finally:
        if os.path.lexists(link):
            os.unlink(link)


def registry_records(lock, edit=None):
    """The records in the registry's lock file (docs/csb-bwrap.md), read
    (and, with `edit`, rewritten as edit(records)) under its lock."""
    with open(lock, "r+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        recs = [r for r in f.read().split(b"\0") if r]
        if edit is not None:
            f.seek(0)
            f.write(b"".join(r + b"\0" for r in edit(recs)))
            f.truncate()
        return recs


@case
def registry_records_of_dead_runs_are_swept(t):
    """The registry's records live in its lock file ("PID K PATH" and a
    NUL): a dead run's empty mount target is removed by the next run, a
    live run's stays (and its record), a malformed record is dropped, and a
    dead run's target whose path now crosses a symlink is not looked for
    where the link leads."""
    if CODEX:
        raise Skip("csb registry")
    reg = registry_dir()
    t.policy()
    t.sh("true")  # creates the registry
    lock = os.path.join(reg, "lock")
    dead, live = os.path.join(t.ws, ".codex"), os.path.join(t.ws, ".agents")
    os.mkdir(dead)
    os.mkdir(live)
    victim = t.write("outside/secrets.json", "")
    os.symlink(t.out, os.path.join(t.ws, "config"))
    via_link = os.path.join(t.ws, "config", "secrets.json")
    mine = b"%d d %s" % (os.getpid(), live.encode())
    planted = [b"%d d %s" % (dead_pid(), dead.encode()), b"not a record", mine,
               b"%d f %s" % (dead_pid(), via_link.encode())]
    registry_records(lock, lambda recs: recs + planted)
    try:
        rc, out, _ = t.sh("ls -A")
        eq((rc, sorted(out.split())), (0, [".agents", ".codex", ".csb", ".git", "config"]))
        eq(sorted(os.listdir(t.ws)), [".agents", "config"], "host after the run")
        eq(os.path.exists(victim), True, "empty file outside the writable roots still there")
        left = [r for r in registry_records(lock) if r in planted]
        eq(left, [mine], "records left")
    finally:
        registry_records(lock, lambda recs: [r for r in recs if r not in planted])
    # once no live run records it, the empty directory is a pre-existing
    # path: masked in place, and kept
    rc, out, _ = t.sh("ls -A")
    eq((rc, sorted(os.listdir(t.ws))), (0, [".agents", "config"]))


@case
def stale_mount_target_is_not_removed_through_a_symlink(t):
    """A killed run's mount target whose parent has since been moved away
    and its name linked outside the writable roots (by a command run under
    another policy): the sweep must not delete the same name there."""
    if CODEX:
        raise Skip("csb registry")
    reg = registry_dir()
    t.policy()
    t.sh("true")  # creates the registry
    victim = t.write("outside/secrets.json", "")
    os.symlink(t.out, os.path.join(t.ws, "config"))
    target = os.path.join(t.ws, "config", "secrets.json")
    marker = os.path.join(reg, "%s.%d" % (fnv1a(target), dead_pid()))
    os.symlink("f:" + target, marker)
    try:
        rc, _, _ = t.sh("true")
        eq(rc, 0)
        eq(os.path.lexists(marker), False, "stale marker swept")
        eq(os.path.exists(victim), True, "empty file outside the writable roots still there")
    finally:
        if os.path.lexists(marker):
            os.unlink(marker)


@case
def seccomp_filters_are_built_in_not_read_from_the_registry(t):
    """The filters are compiled into csb-bwrap: a filter file in the
    registry (where earlier versions cached them, and where a command could
    plant one if it ever reached the registry) is neither loaded nor kept."""
    if CODEX:
        raise Skip("csb registry")
    reg = registry_dir()
    allow_all = bytes([0x06, 0, 0, 0, 0, 0, 0xff, 0x7f])  # BPF_RET|BPF_K SECCOMP_RET_ALLOW
    planted = []
    st = os.stat(t.bin)  # the name earlier versions looked up for this binary
    ident = f"{st.st_dev:x}-{st.st_ino:x}-{st.st_size:x}-{int(st.st_mtime):x}"
    for net in ("000", "100", "200", "010"):
        p = os.path.join(reg, f"bpf-{net}-{ident}")
        with open(p, "wb") as f:
            f.write(allow_all)
        os.chmod(p, 0o600)
        planted.append(p)
    t.policy()
    rc, out, _ = t.sh(PY + " -c 'import socket\ntry:\n socket.socket(); print(\"inet\")\nexcept OSError: print(\"refused\")'")
    eq((rc, out), (0, "refused\n"))
    eq([p for p in planted if os.path.lexists(p)], [], "filter files left in the registry")


@case
def registry_removed_during_setup(t):
    """The registry is mounted over (hidden) by bubblewrap: removed, or
    replaced by a file, after the run was planned and before bubblewrap's
    setup reaches it (a wrapper does it before starting bubblewrap), the
    run stops with exit 71 naming it and what happened, the command does
    not run, and the mount targets bubblewrap had already made are removed.
    Where the sandbox may write its directory, bubblewrap makes an empty
    directory there to mount over instead: the command runs, and that
    directory is removed afterwards, so that the next run can make its
    registry. Root's registry, /run/csb-bwrap, serves every root run on
    this host: the case gives its runs a /run of their own (a private mount
    namespace). Another user's is $XDG_RUNTIME_DIR/csb-bwrap, here in a
    directory deeper than the workspace, whose mount targets bubblewrap
    then makes first."""
    if CODEX:
        raise Skip("csb registry")
    if os.geteuid() == 0:
        parent = os.path.join(t.base, "run")
        os.mkdir(parent)
        prefix = ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
                  'mount --bind "$0" /run && exec "$@"', parent]
        env = {"XDG_RUNTIME_DIR": None}
        reg, seen = "/run/csb-bwrap", os.path.join(parent, "csb-bwrap")
    else:
        # (/tmp's: an $XDG_RUNTIME_DIR elsewhere than /run/user/UID comes
        # after it)
        parent = "/tmp"
        prefix, env = [], {"XDG_RUNTIME_DIR": None}
        reg = seen = "/tmp/csb-bwrap-%d" % os.geteuid()

    def run(name, swap, entries):
        w = fake_bwrap(t, name, f"umask 022; rm -rf {reg} {swap}\n")
        t.policy(entries)
        argv, _ = t.argv(["/bin/sh", "-c", f"touch {t.ws}/ran"], extra=["--bwrap", w])
        e = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
        e.update({k: v for k, v in env.items() if v is not None})
        p = subprocess.run(prefix + argv, cwd=t.ws, env=e, capture_output=True, text=True, timeout=TIMEOUT)
        return p.returncode, p.stdout, p.stderr

    read_only = [("/", "read"), (t.ws, "write")]
    for name, swap, what, bwrap_said in (("removed", "", "was removed", "Read-only file system"),
                                         ("file", f"&& : > {reg}", "was replaced by a file", "Not a directory")):
        rc, out, err = run(name, swap, read_only)
        eq((rc, out), (71, ""), name)
        eq(err, f"csb-bwrap: error: csb-bwrap's mount-target registry {reg} {what} while the sandbox was set up, "
                f"before bubblewrap could mount over it to hide it from the command (bwrap: Can't mkdir {reg}: "
                f"{bwrap_said}); nothing ran: the command was not started; run it again\n", name)
        eq(os.listdir(t.ws), [], f"{name}: the workspace after the run (no command, no mount target)")
        eq(os.path.isfile(seen), name == "file", f"{name}: a file at {seen}")
        if os.path.lexists(seen):
            os.unlink(seen)
    # the registry's directory writable: bubblewrap's own mount point goes
    rc, out, err = run("writable", "", read_only + [("/run" if prefix else parent, "write")])
    eq((rc, out, err), (0, "", ""), "writable")
    eq(os.listdir(t.ws), ["ran"], "writable: the workspace after the run")
    eq(os.path.lexists(seen), False, f"writable: {seen} after the run")


# ---------------------------------------------------------------------------
# exit codes, signals, stdio
# ---------------------------------------------------------------------------


@case
def exit_status_passes_through(t):
    eq(t.sh("exit 7")[0], 7)
    eq(t.sh("exit 0")[0], 0)


@case
def command_not_found_is_127(t):
    rc, out, err = t.run(["/no/such/cmd"])
    eq(rc, 127)
    contains(err, "cannot run /no/such/cmd")


@case
def not_executable_is_126(t):
    t.write("ws/script.sh", "#!/bin/sh\necho hi\n", mode=0o644)
    rc, out, err = t.run(["./script.sh"])
    eq(rc, 126)


@case
def killed_by_signal_is_128_plus(t):
    eq(t.sh("kill -TERM $$")[0], 143)
    eq(t.sh("kill -KILL $$")[0], 137)
    if CODEX is None:
        eq(os.listdir(t.ws), [], "mount targets left on the host")


def run_and_signal(t, sig):
    t.policy()
    argv, xenv = t.argv(["/bin/sh", "-c", f"trap 'echo got-{sig}; exit 3' {sig}; echo ready; "
                         "i=0; while [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; echo timeout"])
    p = subprocess.Popen(argv, cwd=t.ws, stdout=subprocess.PIPE, text=True, env={**os.environ, **xenv})
    eq(p.stdout.readline(), "ready\n", "first line")
    time.sleep(0.2)
    p.send_signal(getattr(signal, "SIG" + sig))
    rest = p.stdout.read()
    rc = p.wait(timeout=TIMEOUT)
    if CODEX is None:
        eq(os.listdir(t.ws), [], "mount targets left on the host")
    return rc, rest


@case
def sigterm_is_forwarded(t):
    eq(run_and_signal(t, "TERM"), (3, "got-TERM\n"))


@case
def sigint_is_forwarded(t):
    eq(run_and_signal(t, "INT"), (3, "got-INT\n"))


@case
def sighup_is_forwarded(t):
    eq(run_and_signal(t, "HUP"), (3, "got-HUP\n"))


@case
def sigquit_is_forwarded(t):
    eq(run_and_signal(t, "QUIT"), (3, "got-QUIT\n"))


@case
def stopped_launcher_stops_the_whole_sandbox(t):
    """SIGTSTP (a terminal's ^Z) reaches csb-bwrap, not the sandbox, which
    runs in a session of its own: csb-bwrap stops, and with it every
    process of the sandbox (a child of the command included), so that a
    job the shell shows as stopped neither runs nor reads the terminal;
    SIGCONT (`fg`, `bg`) continues them all."""
    if CODEX:
        raise Skip("csb job control")
    t.policy()
    tick = os.path.join(t.ws, "tick")
    argv, xenv = t.argv(["/bin/sh", "-c", "(while :; do echo c >> tick; sleep 0.05; done) & "
                         "while :; do echo p >> tick; sleep 0.05; done"])
    p = subprocess.Popen(argv, cwd=t.ws, env={**os.environ, **xenv})

    def ticks():
        try:
            with open(tick) as f:
                return f.read().split()
        except FileNotFoundError:
            return []
    try:
        deadline = time.time() + TIMEOUT
        while len(set(ticks())) < 2 and time.time() < deadline:
            time.sleep(0.05)
        p.send_signal(signal.SIGTSTP)
        _, st = os.waitpid(p.pid, os.WUNTRACED)
        eq(os.WIFSTOPPED(st), True, "csb-bwrap stopped")
        time.sleep(0.3)  # (a write under way lands)
        before = len(ticks())
        time.sleep(0.6)
        eq(len(ticks()), before, "lines written while stopped")
        p.send_signal(signal.SIGCONT)
        while len(ticks()) < before + 4 and time.time() < deadline:
            time.sleep(0.05)
        eq(sorted(set(ticks()[before:])), ["c", "p"], "both processes write again after SIGCONT")
        p.send_signal(signal.SIGTERM)
        eq(p.wait(timeout=TIMEOUT), 143, "status")
    finally:
        if p.poll() is None:
            p.kill()
            os.kill(p.pid, signal.SIGCONT)
            p.wait()


@case
def orphans_are_reaped(t):
    script = ("for i in 1 2 3; do (sh -c 'exit 0' &) ; done; sleep 0.5; "
              "z=0; for s in /proc/[0-9]*/stat; do case \"$(cut -d' ' -f3 $s 2>/dev/null)\" in Z) z=$((z+1));; esac; done; "
              "echo zombies=$z")
    rc, out, _ = t.sh(script)
    eq((rc, out), (0, "zombies=0\n"))


@case
def stdin_stdout_stderr_pass_through(t):
    rc, out, err = t.sh("cat; echo to-err >&2", stdin="from-stdin\n")
    eq((rc, out, err), (0, "from-stdin\n", "to-err\n"))


def run_on_file(t, argv, path, flags, streams, offset=None, unlink=False, **kw):
    """Runs argv in the workspace with `path` opened with `flags` (at
    `offset`; unlinked first if asked) as each of `streams`."""
    fd = os.open(path, flags)
    try:
        if offset is not None:
            os.lseek(fd, offset, os.SEEK_SET)
        if unlink:
            os.unlink(path)
        return subprocess.run(argv, cwd=t.ws, timeout=TIMEOUT, **{k: fd for k in streams}, **kw)
    finally:
        os.close(fd)


@case
def stdin_file_keeps_its_offset_and_stays_read_only(t):
    # csb-bwrap reopens a read-only stdin on a file through the sandbox's
    # view: the command reads on from the caller's offset, and cannot
    # reopen it for writing through /proc/self/fd/0
    if CODEX is not None:
        raise Skip("csb-only: stdin rebinding")
    path = t.write("outside/input", "abcdef\n")
    deleted = t.write("outside/deleted", "unlinked\n")
    t.policy()
    argv, _ = t.argv("cat; (echo pwned > /proc/self/fd/0) 2>/dev/null || echo read-only")
    p = run_on_file(t, argv, path, os.O_RDONLY, ("stdin",), offset=3, capture_output=True, text=True)
    eq((p.returncode, p.stdout), (0, "def\nread-only\n"))
    eq(t.read("outside/input"), "abcdef\n", "the input file")
    # an unlinked file has nothing to reopen into: passed as it is
    p = run_on_file(t, t.argv("cat")[0], deleted, os.O_RDONLY, ("stdin",), unlink=True,
                    capture_output=True, text=True)
    eq((p.returncode, p.stdout), (0, "unlinked\n"))


@case
def stdout_file_outside_writable_roots_is_relayed(t):
    # stdout and stderr appended to a log the policy denies: the command
    # writes through a pipe pid 1 copies into the caller's descriptor, so
    # /proc/self/fd/1 cannot reopen the log to read it or truncate it,
    # and output (2>&1 sharing one open file) keeps its order and bytes
    if CODEX is not None:
        raise Skip("csb-only: stdio relay")
    log = t.write("outside/logs/run.log", "secret-prior\n")
    t.policy([("/", "read"), (t.ws, "write"), (os.path.dirname(log), "deny")])
    script = ("dd if=/proc/self/fd/1 bs=64 count=1 iflag=nonblock 2>/dev/null; "
              ": > /proc/self/fd/1; "
              "(cat " + log + ") 2>/dev/null || echo denied; "
              "echo a; echo b >&2; echo c; echo d >&2; "
              "head -c 300000 /dev/zero | tr '\\0' x; echo; "
              "case $(readlink /proc/$$/fd/2) in pipe:*) echo piped >&2;; *) echo not-piped >&2;; esac; "
              "exit 3")
    argv, _ = t.argv(script)
    p = run_on_file(t, argv, log, os.O_WRONLY | os.O_APPEND, ("stdout", "stderr"))
    eq(p.returncode, 3, "exit code")
    eq(t.read("outside/logs/run.log"),
       "secret-prior\ndenied\na\nb\nc\nd\n" + "x" * 300000 + "\npiped\n", "the log")


@case
def own_errors_reach_a_relayed_stderr(t):
    # csb-bwrap's own failures inside the sandbox (here: the command cannot
    # be executed) are written to the caller's stderr even when it is a
    # file the policy denies, which the command reaches through a relay
    # pipe; in both formats, and with stdout and stderr sharing the file
    if CODEX is not None:
        raise Skip("csb-only: stdio relay")
    log = t.write("outside/logs/err.log", "")
    t.policy([("/", "read"), (t.ws, "write"), (os.path.dirname(log), "deny")])
    for extra, want in (((), "csb-bwrap: error: cannot run /no/such/cmd: No such file or directory\n"),
                        (("--error-format=json",),
                         '{"exit":127,"kind":"not-found","level":"error","message":"cannot run '
                         '/no/such/cmd: No such file or directory","tool":"csb-bwrap"}\n')):
        for streams in (("stderr",), ("stdout", "stderr")):
            with open(log, "w"):
                pass
            argv, _ = t.argv(["/no/such/cmd"], extra=list(extra))
            p = run_on_file(t, argv, log, os.O_WRONLY | os.O_APPEND, streams)
            eq(p.returncode, 127, f"{extra} {streams}: exit code")
            eq(t.read("outside/logs/err.log"), want, f"{extra} {streams}: the log")
    # a command name that is not UTF-8 is shown as \xHH: the line stays JSON
    argv, _ = t.argv([b"/no/such/\xff-\xc3\xa9"], extra=["--error-format=json"])
    p = subprocess.run(argv, cwd=t.ws, stderr=subprocess.PIPE, timeout=TIMEOUT)
    eq(p.returncode, 127, "non-UTF-8 command: exit code")
    eq(json.loads(p.stderr)["message"], "cannot run /no/such/\\xff-\u00e9: No such file or directory",
       "non-UTF-8 command: the JSON message")


@case
def stdout_file_in_writable_root_is_reopened(t):
    # a write-only stdout on a file the command may write is handed over
    # as that file (reopened through the sandbox's view), offset kept
    if CODEX is not None:
        raise Skip("csb-only: stdio rebinding")
    out = t.write("ws/out.txt", "0123456789")
    t.policy()
    argv, _ = t.argv('printf AB; case $(readlink /proc/$$/fd/1) in "' + out + '") printf file;; *) printf other;; esac')
    p = run_on_file(t, argv, out, os.O_WRONLY, ("stdout",), offset=4)
    eq(p.returncode, 0, "exit code")
    eq(t.read("ws/out.txt"), "0123ABfile", "the output file")


@case
def stdio_files_without_proc_are_checked_by_the_outer_stage_path(t):
    # without /proc (--no-proc, or a host that refuses one) the sandbox
    # cannot read its standard descriptors' paths: the outer stage's are
    # used, so that /dev/null and readable files are still handed over and
    # a file the policy denies is still refused
    if CODEX is not None:
        raise Skip("csb-only: stdio rebinding")
    path = t.write("outside/input", "abcdef\n")
    secret = t.write("outside/secret/key", "secret\n")
    t.policy([("/", "read"), (t.ws, "write"), (os.path.dirname(secret), "deny")])
    argv, _ = t.argv("cat", extra=["--no-proc"])
    got = []
    for f in ("/dev/null", path, secret):
        p = run_on_file(t, argv, f, os.O_RDONLY, ("stdin",), capture_output=True, text=True)
        got.append((p.returncode, p.stdout))
        if f == secret:
            contains(p.stderr, "standard descriptor 0 is " + secret + ", opened read-only", "stderr")
    eq(got, [(0, ""), (0, "abcdef\n"), (69, "")])


@case
def stdout_and_stderr_on_one_file_in_writable_root_share_it(t):
    # `> out.txt 2>&1` on a file the command may write: both descriptors
    # are reopened as one open file, so their writes follow each other
    # instead of overwriting each other from their own offsets
    if CODEX is not None:
        raise Skip("csb-only: stdio rebinding")
    out = t.write("ws/out.txt", "")
    t.policy()
    argv, _ = t.argv("echo a; echo b >&2; echo c; echo d >&2")
    p = run_on_file(t, argv, out, os.O_WRONLY, ("stdout", "stderr"))
    eq(p.returncode, 0, "exit code")
    eq(t.read("ws/out.txt"), "a\nb\nc\nd\n", "the output file")


@case
def caller_and_command_share_a_writable_stdio_file(t):
    # `{ echo one; SANDBOX CMD; echo three; } > LOG 2>&1` and the same with
    # a file on stdin, inside a writable root: the command writes and reads
    # at the caller's offset and moves it, so the caller's later output
    # follows the command's instead of overwriting it, and the caller reads
    # on after what the command read
    log = t.write("ws/log.txt", "")
    data = t.write("ws/in.txt", "1\n2\n3\n")
    t.policy()
    argv, xenv = t.argv("echo two; echo err >&2; read b; echo \"read $b\"")
    outer = ["/bin/sh", "-c", 'read a; echo "one $a"; "$@"; read c; echo "three $c"', "sh", *argv]
    env = {**os.environ, **xenv}
    fd = os.open(data, os.O_RDONLY)
    try:
        p = run_on_file(t, outer, log, os.O_WRONLY | os.O_TRUNC, ("stdout", "stderr"), stdin=fd, env=env)
    finally:
        os.close(fd)
    eq(p.returncode, 0, "exit code")
    eq(t.read("ws/log.txt"), "one 1\ntwo\nerr\nread 2\nthree 3\n", "the log")


@case
def null_stdio_is_the_sandbox_own(t):
    # /dev/null reads nothing and keeps nothing whichever node it is: the
    # caller's open file is replaced by the sandbox's own /dev/null, with its
    # access mode, so that its mode, owner and times are out of reach through
    # the caller's mount (run by root, the sandbox's uid 0 owns the node)
    if CODEX is not None:
        raise Skip("csb-only: stdio rebinding")
    t.policy()
    argv, _ = t.argv("exec 5</dev/null; for n in 0 2 5; do grep -h mnt_id /proc/self/fdinfo/$n; "
                     "grep -h flags /proc/self/fdinfo/$n; done; printf x >&2; cat")
    fds = [os.open("/dev/null", os.O_RDONLY), os.open("/dev/null", os.O_WRONLY)]
    try:
        mine = []
        for fd in fds:
            with open("/proc/self/fdinfo/%d" % fd) as f:
                mine += [l for l in f.read().splitlines() if l.startswith("mnt_id")]
        p = subprocess.run(argv, cwd=t.ws, env=os.environ, stdin=fds[0], stdout=subprocess.PIPE,
                           stderr=fds[1], timeout=TIMEOUT)
    finally:
        for fd in fds:
            os.close(fd)
    eq(p.returncode, 0, "exit code")
    lines = p.stdout.decode().splitlines()
    eq(len(lines), 6, "fdinfo lines: %r" % lines)
    mnt = lines[0::2]
    acc = [int(l.split()[1], 8) & 3 for l in lines[1::2]]
    eq(mnt, [mnt[2]] * 3, "stdin and stderr on the mount of the sandbox's own /dev/null")
    if mnt[0] in mine:
        raise Fail("stdin is still on the caller's mount (%s)" % mnt[0])
    eq(acc[:2], [os.O_RDONLY, os.O_WRONLY], "access modes of stdin and stderr")


@case
def read_write_stdio_outside_writable_roots_is_refused(t):
    # a read-write descriptor on a file the command may only read could be
    # reopened for writing; there is no pipe to stand in for both ways
    if CODEX is not None:
        raise Skip("csb-only: stdio rebinding")
    path = t.write("outside/state", "keep\n")
    t.policy()
    argv, _ = t.argv("echo pwned")
    p = run_on_file(t, argv, path, os.O_RDWR, ("stdout",), stderr=subprocess.PIPE, text=True)
    eq(p.returncode, 69, "exit code")
    contains(p.stderr, "standard descriptor 1 is " + path + ", opened read-write", "stderr")
    eq(t.read("outside/state"), "keep\n", "the file")


@case
def named_fifo_stdio_is_reopened_through_the_view(t):
    # a named FIFO outside the writable roots, as stdin and stdout, still
    # carries data both ways, but through the sandbox's read-only view of
    # it, where its mode cannot be changed; an anonymous pipe is left alone
    if CODEX is not None:
        raise Skip("csb-only: stdio rebinding")
    src, dst = os.path.join(t.out, "src"), os.path.join(t.out, "dst")
    os.mkfifo(src, 0o600)
    os.mkfifo(dst, 0o600)
    t.policy()
    argv, _ = t.argv("cat; chmod 666 /proc/self/fd/1 2>/dev/null && echo chmod-worked >&2; "
                     "printf x | { chmod 600 /proc/self/fd/0 && echo pipe-chmod-ok >&2; }")
    got = []
    reader = threading.Thread(target=lambda: got.append(open(dst).read()))
    writer = threading.Thread(target=lambda: open(src, "w").write("through fifos\n"))
    reader.start()
    writer.start()
    fin = os.open(src, os.O_RDONLY)
    fout = os.open(dst, os.O_WRONLY)
    try:
        p = subprocess.run(argv, cwd=t.ws, stdin=fin, stdout=fout, stderr=subprocess.PIPE, text=True, timeout=TIMEOUT)
    finally:
        os.close(fin)
        os.close(fout)
    writer.join(TIMEOUT)
    reader.join(TIMEOUT)
    eq((p.returncode, p.stderr, got), (0, "pipe-chmod-ok\n", ["through fifos\n"]))
    eq(stat.S_IMODE(os.stat(dst).st_mode), 0o600, "the FIFO's mode")


@case
def opath_stdin_is_reopened_as_a_path(t):
    # an O_PATH descriptor of a symlink outside the writable roots stays an
    # O_PATH descriptor of that symlink, reopened through the view
    if CODEX is not None:
        raise Skip("csb-only: stdio rebinding")
    link = os.path.join(t.out, "link")
    os.symlink("target-of-link", link)
    t.policy()
    argv, _ = t.argv("readlink /proc/self/fd/0; grep -h flags /proc/self/fdinfo/0")
    fd = os.open(link, os.O_PATH | os.O_NOFOLLOW)
    try:
        p = subprocess.run(argv, cwd=t.ws, stdin=fd, capture_output=True, text=True, timeout=TIMEOUT)
    finally:
        os.close(fd)
    lines = p.stdout.splitlines()
    eq((p.returncode, p.stderr, lines[:1]), (0, "", [link]))
    if len(lines) != 2 or not int(lines[1].split()[1], 8) & os.O_PATH:
        raise Fail("not an O_PATH descriptor: %r" % p.stdout)


@case
def tty_pass_through(t):
    t.policy()
    argv, xenv = t.argv(["/bin/sh", "-c", "test -t 0 && test -t 1 && echo tty-ok; stty size"])
    _, text = sandbox.run_tty(argv, t.ws, xenv, TIMEOUT)
    contains(text, "tty-ok\n")
    lines = [l for l in text.split("\n") if l and l != "tty-ok"]
    if not lines or len(lines[-1].split()) != 2:
        raise Fail("stty size: " + repr(text))


@case
def tty_on_stdin_and_stderr_only(t):
    """Standard output a pipe, stdin and stderr the caller's terminal (a
    command run as `cmd > file` from a shell): the command still has its
    terminal on both, reads what is typed on it and writes to it, through
    a read-only bind of it (/dev/.csb-tty0), so `fchmod` of either
    descriptor is refused (EROFS) and the terminal's mode, owner and times
    stay as they were on the host."""
    if CODEX:
        raise Skip("csb terminal binds")
    t.policy()
    script = ("test -t 0 && test -t 2 && ! test -t 1 && echo ttys-ok; "
              "printf 'to-tty\\n' >&2; read x; echo \"got $x\"; "
              "chmod 0666 /proc/self/fd/0 2>/dev/null && echo chmod-0-went-through; "
              "chmod 0666 /proc/self/fd/2 2>/dev/null && echo chmod-2-went-through; "
              "readlink /proc/self/fd/0 /proc/self/fd/2")
    argv, xenv = t.argv(["/bin/sh", "-c", script])
    master, slave = os.openpty()
    try:
        name = os.ttyname(slave)
        before = sandbox.tty_meta(name)
        os.write(master, b"typed\n")
        p = subprocess.run(argv, cwd=t.ws, stdin=slave, stderr=slave, stdout=subprocess.PIPE,
                           env={**os.environ, **xenv}, timeout=TIMEOUT, start_new_session=True)
        after = sandbox.tty_meta(name)
        shown = sandbox.drain_pty(master)
    finally:
        os.close(master)
        os.close(slave)
    eq((p.returncode, p.stdout.decode()), (0, "ttys-ok\ngot typed\n/dev/.csb-tty0\n/dev/.csb-tty0\n"),
       "exit status and output")
    contains(shown, "to-tty\n", "the terminal")
    eq(after, before, "the terminal's mode, owner, group and change time on the host")


@case
@sandbox.root_only("hides the host's /dev/pts in a mount namespace of its own")
def tty_without_a_host_name_is_refused(t):
    """A terminal on stdin that has no name on the host (its devpts is
    hidden: ttyname fails) cannot be bound read-only into the sandbox; the
    inner stage finds the descriptor on a writable mount and refuses to
    run the command (69), naming the descriptor and the fix."""
    if CODEX:
        raise Skip("csb terminal binds")
    t.policy()
    argv, xenv = t.argv(["/bin/sh", "-c", "echo ran"])
    master, slave = os.openpty()
    try:
        p = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                            'mount -t tmpfs csb-no-pts /dev/pts && exec "$@"', "sh", *argv],
                           cwd=t.ws, stdin=slave, capture_output=True, text=True,
                           env={**os.environ, **xenv}, timeout=TIMEOUT, start_new_session=True)
    finally:
        os.close(master)
        os.close(slave)
    eq((p.returncode, p.stdout), (69, ""), "exit status and output (stderr %r)" % p.stderr)
    contains(p.stderr, "standard input is a terminal of the caller's that the sandbox reaches through a "
             "writable mount", "stderr")
    contains(p.stderr, "fix: run with no terminal on the standard descriptors", "stderr")


# ---------------------------------------------------------------------------
# network
# ---------------------------------------------------------------------------


def stop_server(s, thread):
    """Stops an accept loop before its socket closes: closing alone lets a
    loop that was between two accepts call accept() on the descriptor's
    number again, by then another server's socket (the next case's)."""
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    thread.join(TIMEOUT)
    s.close()


class TcpServer:
    def __init__(self, family=socket.AF_INET, host="127.0.0.1", banner=b"banner\n"):
        self.s = socket.socket(family, socket.SOCK_STREAM)
        self.s.bind((host, 0))
        self.s.listen(16)
        self.port = self.s.getsockname()[1]
        self.banner = banner
        self.hits = 0
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while True:
            try:
                c, _ = self.s.accept()
            except OSError:
                return
            self.hits += 1
            try:
                c.sendall(self.banner)
            finally:
                c.close()

    def close(self):
        stop_server(self.s, self.thread)


PROBE_TCP = ("import socket,sys\n"
             "fam = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET\n"
             "try:\n  s=socket.socket(fam); s.settimeout(3); s.connect((sys.argv[1], int(sys.argv[2])));"
             " print('connected', s.recv(100).decode().strip())\n"
             "except OSError as e:\n  print('blocked', type(e).__name__)\n")


@case
def restricted_blocks_tcp_to_host_loopback(t):
    srv = TcpServer()
    try:
        rc, out, _ = t.run([PY, "-c", PROBE_TCP, "127.0.0.1", str(srv.port)])
        eq((rc, out), (0, "blocked PermissionError\n"))
        eq(srv.hits, 0, "server hits")
    finally:
        srv.close()


@case
def restricted_blocks_ipv6(t):
    srv = TcpServer(socket.AF_INET6, "::1")
    try:
        rc, out, _ = t.run([PY, "-c", PROBE_TCP, "::1", str(srv.port)])
        eq((rc, out), (0, "blocked PermissionError\n"))
    finally:
        srv.close()


@case
def restricted_blocks_udp(t):
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(0.5)
    port = rx.getsockname()[1]
    try:
        rc, out, _ = t.run([PY, "-c", "import socket\ntry:\n s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM);"
                            f" s.sendto(b'x', ('127.0.0.1', {port})); print('sent')\n"
                            "except OSError as e: print('blocked', type(e).__name__)"])
        eq((rc, out), (0, "blocked PermissionError\n"))
        try:
            rx.recv(10)
            raise Fail("datagram arrived")
        except socket.timeout:
            pass
    finally:
        rx.close()


@case
def restricted_blocks_icmp(t):
    rc, out, _ = t.run([PY, "-c", "import socket\nfor ty,pr in ((socket.SOCK_RAW,1),(socket.SOCK_DGRAM,1)):\n"
                        " try:\n  socket.socket(socket.AF_INET, ty, pr); print('opened')\n"
                        " except OSError as e: print('blocked', type(e).__name__)"])
    eq((rc, out), (0, "blocked PermissionError\nblocked PermissionError\n"))


@case
def restricted_blocks_dns(t):
    rc, out, _ = t.run([PY, "-c", "import socket\ntry:\n socket.getaddrinfo('example.com', 80); print('resolved')\n"
                        "except OSError as e: print('no-dns')"])
    eq((rc, out), (0, "no-dns\n"))
    rc, out, _ = t.run(["getent", "ahosts", "example.com"])
    eq((rc, out), (2, ""))


@case
def restricted_blocks_bash_dev_tcp(t):
    srv = TcpServer()
    try:
        rc, out, err = t.run(["bash", "-c", f"echo hi > /dev/tcp/127.0.0.1/{srv.port}"])
        eq(rc, 1)
        contains(err, "Operation not permitted", "stderr")
    finally:
        srv.close()


@case
def enabled_network_reaches_host_loopback(t):
    srv = TcpServer(banner=b"hello-host\n")
    try:
        t.policy(net="enabled")
        rc, out, _ = t.run([PY, "-c", PROBE_TCP, "127.0.0.1", str(srv.port)])
        eq((rc, out), (0, "connected hello-host\n"))
    finally:
        srv.close()


@case
def enabled_network_still_blocks_raw_packet_vsock(t):
    t.policy(net="enabled")
    code = ("import socket\n"
            "for a in ((socket.AF_INET, socket.SOCK_RAW, 1), (socket.AF_PACKET, socket.SOCK_RAW, 0),"
            " (40, socket.SOCK_STREAM, 0), (socket.AF_NETLINK, socket.SOCK_RAW, 9)):\n"
            " try:\n  socket.socket(*a); print('opened')\n"
            " except OSError as e: print('blocked', e.errno)\n"
            "socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0); print('route-netlink-ok')")
    rc, out, _ = t.run([PY, "-c", code])
    eq((rc, out), (0, "blocked 1\nblocked 1\nblocked 1\nblocked 1\nroute-netlink-ok\n"))


@case
def socketpair_works_dgram_refused(t):
    code = ("import socket\na,b=socket.socketpair(); a.send(b'ping'); print(b.recv(4).decode())\n"
            "try:\n socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM); print('dgram-ok')\n"
            "except OSError as e: print('dgram-blocked', e.errno)")
    rc, out, _ = t.run([PY, "-c", code])
    eq((rc, out), (0, "ping\ndgram-blocked 1\n"))


# ---------------------------------------------------------------------------
# proxy mode
# ---------------------------------------------------------------------------


class Origin(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"hello from origin"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


class TestProxy(http.server.BaseHTTPRequestHandler):
    """Forwards absolute-form GETs to 127.0.0.1 only; counts requests."""
    hits = []

    def do_GET(self):
        TestProxy.hits.append(self.path)
        import urllib.parse
        u = urllib.parse.urlsplit(self.path)
        if u.hostname != "127.0.0.1":
            self.send_response(403)
            self.end_headers()
            return
        c = socket.create_connection((u.hostname, u.port), timeout=5)
        c.sendall(f"GET {u.path or '/'} HTTP/1.0\r\nHost: {u.netloc}\r\n\r\n".encode())
        data = b""
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            data += chunk
        c.close()
        self.wfile.write(data)

    def log_message(self, *a):
        pass


def serve(handler):
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


PROXY_CLIENT = ("import os,urllib.request,sys\n"
                "print(os.environ['HTTP_PROXY'].startswith('http://127.0.0.1:'), os.environ['HTTP_PROXY'] != sys.argv[2])\n"
                "o=urllib.request.build_opener(urllib.request.ProxyHandler({'http': os.environ['HTTP_PROXY']}))\n"
                "print(o.open(sys.argv[1], timeout=5).read().decode())\n")


@case
def proxy_mode_reaches_origin_only_through_proxy(t):
    origin = serve(Origin)
    proxy = serve(TestProxy)
    TestProxy.hits.clear()
    try:
        t.policy(net="proxy")
        url = f"http://127.0.0.1:{origin.server_address[1]}/x"
        purl = f"http://127.0.0.1:{proxy.server_address[1]}"
        rc, out, err = t.run([PY, "-c", PROXY_CLIENT, url, purl], env={"HTTP_PROXY": purl})
        eq((rc, out), (0, "True True\nhello from origin\n"), f"output (stderr {err!r})")
        eq(TestProxy.hits, [url], "proxy log")
        rc, out, _ = t.run([PY, "-c", PROBE_TCP, "127.0.0.1", str(origin.server_address[1])],
                           env={"HTTP_PROXY": purl})
        eq((rc, out), (0, "blocked ConnectionRefusedError\n"), "direct connection")
    finally:
        origin.shutdown()
        proxy.shutdown()


HOLD_THREE = ("import os,socket\n"
              "p=int(os.environ['HTTP_PROXY'].rsplit(':',1)[1])\n"
              "c=[socket.create_connection(('127.0.0.1',p),timeout=5) for _ in range(3)]\n"
              "print(b''.join(s.recv(3) for s in c).decode())\n")


class HoldOpen(socketserver.BaseRequestHandler):
    """Greets each connection and keeps it open until `done` is set."""
    done = threading.Event()

    def handle(self):
        self.request.sendall(b"hi\n")
        HoldOpen.done.wait(30)


@case
def proxy_bridge_ends_with_the_run(t):
    """Connections the command leaves open through the proxy bridge, which
    the proxy holds open, keep no host process of csb-bwrap running after
    the run (each connection's worker outlived csb-bwrap, holding its
    connections, until the proxy closed them)."""
    HoldOpen.done.clear()
    proxy = serve(HoldOpen)
    try:
        t.policy(net="proxy")
        rc, out, err = t.run([PY, "-c", HOLD_THREE], env={"HTTP_PROXY": f"http://127.0.0.1:{proxy.server_address[1]}"})
        eq((rc, out), (0, "hi\nhi\nhi\n\n"), f"output (stderr {err!r})")
        deadline = time.monotonic() + 3
        while True:
            left = []
            for pid in os.listdir("/proc"):
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        if t.pfile.encode() in f.read():
                            left.append(int(pid))
                except (OSError, ValueError):
                    pass
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        eq(left, [], "processes of the run left after it")
    finally:
        HoldOpen.done.set()
        proxy.shutdown()


@case
def proxy_mode_without_proxy_variable_fails_closed(t):
    t.policy(net="proxy")
    rc, out, err = t.sh(f"touch {t.ws}/ran")
    eq(rc, 69)
    contains(err, "requires a proxy environment variable")
    eq(t.exists("ws/ran"), False, "command ran")


@case
def proxy_mode_rejects_non_loopback_proxy(t):
    t.policy(net="proxy")
    rc, out, err = t.sh("echo ran", env={"HTTPS_PROXY": "http://proxy.example:3128"})
    eq((rc, out), (69, ""))
    contains(err, "loopback proxy endpoint")


@case
def proxy_mode_refuses_unix_sockets(t):
    t.policy(net="proxy")
    code = ("import socket\ntry:\n socket.socket(socket.AF_UNIX); print('unix-ok')\n"
            "except OSError as e: print('unix-blocked', e.errno)\n"
            "a,b=socket.socketpair(); a.send(b'x'); print('pair', b.recv(1).decode())")
    rc, out, _ = t.run([PY, "-c", code], env={"HTTP_PROXY": "http://127.0.0.1:9"})
    eq((rc, out), (0, "unix-blocked 1\npair x\n"))


CERT_PEM = ("-----BEGIN CERTIFICATE-----\n"
            "MIIBszCCAVmgAwIBAgIUAbcdefghijklmnopqrstuvwxyz0123456789+/==\n"
            "-----END CERTIFICATE-----\n")
BUNDLES_VAR = "CSB_NETWORK_PROXY_CA_BUNDLES"


@case
def proxy_mode_binds_the_proxy_ca_bundle_read_only(t):
    # the proxy's home is not readable under the policy; only the checked
    # bundle appears inside, read-only, with the bytes that were checked
    bundle = t.write("proxyhome/ca-bundle.pem", CERT_PEM)
    t.write("proxyhome/ca.key", "secret key\n")
    t.policy([(t.ws, "write")], minimal=True, net="proxy")
    script = (f"cat {bundle}; echo x >> {bundle} 2>/dev/null && echo wrote; "
              f"cat {os.path.dirname(bundle)}/ca.key 2>/dev/null || echo key-hidden")
    rc, out, err = t.sh(script, env={"HTTP_PROXY": "http://127.0.0.1:9", BUNDLES_VAR: bundle})
    eq((rc, out), (0, CERT_PEM + "key-hidden\n"), f"output (stderr {err!r})")
    eq(t.read("proxyhome/ca-bundle.pem"), CERT_PEM, "host bundle")


@case
def proxy_mode_refuses_a_bundle_that_is_not_only_certificates(t):
    key = t.write("proxyhome/mixed.pem", CERT_PEM + "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    link = os.path.join(t.base, "proxyhome", "link.pem")
    os.symlink(t.write("proxyhome/good.pem", CERT_PEM), link)
    t.policy(net="proxy")
    for bad, why in ((key, "it holds a private key"), (link, "a symbolic link"),
                     (t.ws, "not a regular file")):
        rc, out, err = t.sh(f"touch {t.ws}/ran", env={"HTTP_PROXY": "http://127.0.0.1:9", BUNDLES_VAR: bad})
        eq((rc, out), (69, ""), f"{bad}: status")
        contains(err, f"{BUNDLES_VAR}: {bad}: {why}")
        eq(t.exists("ws/ran"), False, "command ran")


# ---------------------------------------------------------------------------
# Unix sockets
# ---------------------------------------------------------------------------


class UnixServer:
    def __init__(self, path, reply=b"pong"):
        self.path = path
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.bind(path)
        self.s.listen(8)
        self.reply = reply
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while True:
            try:
                c, _ = self.s.accept()
            except OSError:
                return
            try:
                if c.recv(16) == b"ping":
                    c.sendall(self.reply)
            finally:
                c.close()

    def close(self):
        stop_server(self.s, self.thread)


UNIX_PROBE = ("import socket,sys\n"
              "for p in sys.argv[1:]:\n"
              " try:\n  s=socket.socket(socket.AF_UNIX); s.settimeout(3); s.connect(p); s.send(b'ping');"
              " print('ok', s.recv(16).decode())\n"
              " except OSError as e: print('blocked', e.errno)\n")


@case
def allow_listed_unix_socket_works_others_do_not(t):
    good = UnixServer(os.path.join(t.out, "good.sock"), b"good")
    bad = UnixServer(os.path.join(t.out, "bad.sock"), b"bad")
    try:
        t.policy(unix={good.path: "allow"})
        rc, out, err = t.run([PY, "-c", UNIX_PROBE, good.path, bad.path])
        eq((rc, out), (0, "ok good\nblocked 1\n"), f"output (stderr {err!r})")
    finally:
        good.close()
        bad.close()


@case
def allow_listed_unix_socket_works_with_stdin_closed(t):
    """With the caller's stdin closed, the kernel hands out descriptor 0
    for the connect() notification listener, which libseccomp takes for
    none: the command must still run, with its stdin still closed."""
    good = UnixServer(os.path.join(t.out, "good.sock"), b"good")
    try:
        t.policy(unix={good.path: "allow"})
        code = ("import os,sys\n"
                "try: os.fstat(0); print('stdin open')\n"
                "except OSError: print('stdin closed')\n" + UNIX_PROBE)
        argv, _ = t.argv([PY, "-c", code, good.path])
        p = subprocess.run(["/bin/sh", "-c", 'exec "$@" <&-', "sh", *argv], cwd=t.ws,
                           capture_output=True, text=True, timeout=TIMEOUT)
        eq((p.returncode, p.stdout), (0, "stdin closed\nok good\n"), f"output (stderr {p.stderr!r})")
    finally:
        good.close()


@case
def allow_listed_unix_socket_from_a_thread(t):
    """connect() from a thread that does not lead its process is decided
    like any other (pid 1 is told the thread's id)."""
    good = UnixServer(os.path.join(t.out, "good.sock"), b"good")
    bad = UnixServer(os.path.join(t.out, "bad.sock"), b"bad")
    try:
        t.policy(unix={good.path: "allow"})
        code = ("import sys,threading\n"
                "th=threading.Thread(target=exec, args=(sys.stdin.read(), {})); th.start(); th.join()\n")
        rc, out, err = t.run([PY, "-c", code, good.path, bad.path], stdin=UNIX_PROBE)
        eq((rc, out), (0, "ok good\nblocked 1\n"), f"output (stderr {err!r})")
    finally:
        good.close()
        bad.close()


@case
def unix_connect_waiting_on_a_full_backlog_blocks_no_other(t):
    """pid 1 performs each mediated connect(); one that waits (a blocking
    socket, a server whose backlog is full) must not hold back another
    process's connect or the command's exit."""
    full = os.path.join(t.out, "full.sock")
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(full)
    srv.listen(0)
    filler = socket.socket(socket.AF_UNIX)
    filler.connect(full)
    good = UnixServer(os.path.join(t.out, "good.sock"), b"good")
    code = ("import os,socket,sys,time\n"
            "if os.fork() == 0:\n socket.socket(socket.AF_UNIX).connect(sys.argv[1]); os._exit(0)\n"
            "time.sleep(0.3)\n"
            "s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[2]); s.send(b'ping'); print('ok', s.recv(16).decode())\n")
    try:
        t.policy(unix={full: "allow", good.path: "allow"})
        try:
            rc, out, err = t.run([PY, "-c", code, full, good.path], timeout=10)
        except subprocess.TimeoutExpired:
            raise Fail("the connect to a full backlog held back the other connect")
        eq((rc, out), (0, "ok good\n"), f"output (stderr {err!r})")
    finally:
        good.close()
        filler.close()
        srv.close()


@case
def unix_socket_symlink_to_denied_socket_is_denied(t):
    bad = UnixServer(os.path.join(t.out, "bad.sock"), b"bad")
    good = UnixServer(os.path.join(t.out, "good.sock"), b"good")
    try:
        link = os.path.join(t.ws, "link.sock")
        t.policy(unix={link: "allow", good.path: "allow"})
        os.symlink(bad.path, link)
        rc, out, _ = t.run([PY, "-c", UNIX_PROBE, link, "../outside/good.sock"])
        eq((rc, out), (0, "blocked 1\nok good\n"))
    finally:
        bad.close()
        good.close()


@case
def allowed_unix_socket_in_writable_dir_cannot_be_swapped(t):
    """An allowed socket in a directory the command can write is pinned by
    device and inode when the sandbox starts: another socket of the same
    writable tree that the command may not reach, hard-linked and renamed
    to the allowed name, is refused (it would otherwise be reached under
    the allowed path). Links from outside the writable bind fail anyway
    (EXDEV across mounts)."""
    if CODEX is not None:
        raise Skip("csb unix allow list")
    good = UnixServer(os.path.join(t.ws, "good.sock"), b"good")
    bad = UnixServer(os.path.join(t.ws, "bad.sock"), b"bad")
    try:
        t.policy(unix={good.path: "allow"})
        rc, out, err = t.sh(f"{PY} -c \"$P\" good.sock; {PY} -c \"$P\" bad.sock; ln bad.sock x.sock && mv -f x.sock good.sock && "
                            f"{PY} -c \"$P\" good.sock", env={"P": UNIX_PROBE})
        eq((rc, out), (0, "ok good\nblocked 1\nblocked 1\n"), f"output (stderr {err!r})")
    finally:
        good.close()
        bad.close()


@case
def allowed_unix_socket_through_a_link_into_a_writable_dir_cannot_be_swapped(t):
    """A rule spelled through a symlinked directory that leads into a
    writable one is pinned like one spelled there directly."""
    if CODEX is not None:
        raise Skip("csb unix allow list")
    good = UnixServer(os.path.join(t.ws, "good.sock"), b"good")
    bad = UnixServer(os.path.join(t.ws, "bad.sock"), b"bad")
    try:
        link = os.path.join(t.out, "run")
        os.symlink(t.ws, link)
        t.policy(unix={os.path.join(link, "good.sock"): "allow"})
        rc, out, err = t.sh(f"{PY} -c \"$P\" good.sock; {PY} -c \"$P\" bad.sock; ln bad.sock x.sock && mv -f x.sock good.sock && "
                            f"{PY} -c \"$P\" good.sock", env={"P": UNIX_PROBE})
        eq((rc, out), (0, "ok good\nblocked 1\nblocked 1\n"), f"output (stderr {err!r})")
        later = os.path.join(link, "later.sock")
        t.policy(unix={later: "allow"})
        rc, out, err = t.sh("echo ran")
        eq((rc, out), (69, ""), later)
        contains(err, f"network.unix_sockets allow rule {later}: the command can write {t.ws}/later.sock")
    finally:
        good.close()
        bad.close()


@case
def unpinnable_unix_allow_rule_in_writable_dir_is_refused(t):
    """An allow rule the command could satisfy with a socket of its choice
    (a missing socket, or a directory, where it can write) is refused
    before the command runs."""
    if CODEX is not None:
        raise Skip("csb unix allow list")
    for rule in (os.path.join(t.ws, "later.sock"), os.path.join(t.ws, "run")):
        t.policy(unix={rule: "allow"})
        rc, out, err = t.sh("echo ran")
        eq((rc, out), (69, ""), rule)
        contains(err, f"network.unix_sockets allow rule {rule}")


@case
def unix_allow_list_without_proc_is_refused(t):
    """connect() mediation works through /proc: with an empty one every
    allowed socket would be refused, so the run is."""
    if CODEX is not None:
        raise Skip("csb option")
    good = UnixServer(os.path.join(t.out, "good.sock"), b"good")
    try:
        t.policy(unix={good.path: "allow"})
        rc, out, err = t.run([PY, "-c", UNIX_PROBE, good.path], extra=["--no-proc"], stdin="")
        eq((rc, out), (69, ""), f"exit and output (stderr {err!r})")
        contains(err, "cannot enforce the network.unix_sockets allow rules without a fresh /proc")
        contains(err, "drop --no-proc")
    finally:
        good.close()


@case
def unix_socket_deny_rule_wins_inside_allowed_dir(t):
    d = os.path.join(t.out, "run")
    os.makedirs(d)
    a = UnixServer(os.path.join(d, "a.sock"), b"a")
    b = UnixServer(os.path.join(d, "b.sock"), b"b")
    try:
        t.policy(unix={d: "allow", b.path: "deny"})
        rc, out, _ = t.run([PY, "-c", UNIX_PROBE, a.path, b.path])
        eq((rc, out), (0, "ok a\nblocked 1\n"))
    finally:
        a.close()
        b.close()


@case
def no_unix_allow_list_denies_connect(t):
    srv = UnixServer(os.path.join(t.out, "s.sock"))
    try:
        rc, out, _ = t.run([PY, "-c", UNIX_PROBE, srv.path])
        eq((rc, out), (0, "blocked 1\n"))
    finally:
        srv.close()


@case
def dangerously_allow_all_unix_sockets(t):
    srv = UnixServer(os.path.join(t.out, "s.sock"))
    try:
        t.policy(unix_all=True)
        rc, out, _ = t.run([PY, "-c", UNIX_PROBE, srv.path])
        eq((rc, out), (0, "ok pong\n"))
    finally:
        srv.close()


@case
def unix_allow_list_in_enabled_mode_still_connects_tcp(t):
    srv = TcpServer(banner=b"tcp-ok\n")
    good = UnixServer(os.path.join(t.out, "good.sock"), b"good")
    try:
        t.policy(net="enabled", unix={good.path: "allow"})
        rc, out, _ = t.run([PY, "-c", PROBE_TCP, "127.0.0.1", str(srv.port)])
        eq((rc, out), (0, "connected tcp-ok\n"))
        rc, out, _ = t.run([PY, "-c", UNIX_PROBE, good.path])
        eq((rc, out), (0, "ok good\n"))
    finally:
        srv.close()
        good.close()


# ---------------------------------------------------------------------------
# CLI, policy handling, backends
# ---------------------------------------------------------------------------


@case
def bad_policy_is_65(t):
    if CODEX:
        raise Skip("csb command line")
    p = t.write("bad.json", "{\"schema\": \"csb.policy/v2\"}")
    rc, out, err = t.run(["true"], policy=p)
    eq((rc, out), (65, ""))
    contains(err, "csb.policy/v2")


@case
def foreign_platform_policy_is_69(t):
    t.policy(platform="macos")
    rc, out, err = t.run(["true"])
    eq(rc, 69)
    contains(err, "platform `macos`")


@case
def missing_command_is_64(t):
    t.policy()
    if CODEX:
        raise Skip("csb command line")
    p = subprocess.run([t.bin, "--policy", t.pfile], capture_output=True, text=True)
    eq(p.returncode, 64)


def run_raw(t, args, stdin):
    """csb-bwrap ARGS in the workspace with `stdin` (text) as standard input."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    p = subprocess.run([t.bin, *args], cwd=t.ws, env=env, input=stdin, capture_output=True,
                       text=True, timeout=TIMEOUT)
    return p.returncode, p.stdout, p.stderr


@case
def policy_from_piped_stdin_without_option(t):
    if CODEX:
        raise Skip("csb command line")
    with open(t.policy()) as f:
        doc = f.read()
    # the command sees standard input at its end: the policy consumed it
    rc, out, err = run_raw(t, ["--", "/bin/sh", "-c", "printf '[%s]' \"$(cat)\"; printf x > f && cat f"], doc)
    eq((rc, out, err), (0, "[]x", ""))


@case
def policy_dash_reads_stdin(t):
    if CODEX:
        raise Skip("csb command line")
    with open(t.policy([(t.ws, "write")], minimal=True)) as f:
        doc = f.read()
    rc, out, _ = run_raw(t, ["--policy", "-", "--", "/bin/sh", "-c", "test -e /root || echo hidden"], doc)
    eq((rc, out), (0, "hidden\n"))


@case
def policy_given_twice_is_64_and_runs_nothing(t):
    if CODEX:
        raise Skip("csb command line")
    wide = os.path.join(t.base, "wide.json")
    shutil.copyfile(t.policy([(t.ws, "write")], minimal=True), wide)
    narrow = t.policy([(t.ws, "read")], minimal=True)
    rc, out, err = run_raw(t, ["--policy", narrow, "-p", wide, "--", "/bin/sh", "-c", "printf x > f"], "")
    eq((rc, out), (64, ""))
    contains(err, "csb-bwrap: error: option '--policy' given twice ('%s', then '%s'); give it once"
             % (narrow, wide))
    eq(os.path.exists(os.path.join(t.ws, "f")), False)


@case
def policy_from_closed_stdin_says_it_is_closed(t):
    if CODEX:
        raise Skip("csb command line")
    p = subprocess.run([t.bin, "--policy", "-", "--", "true"], cwd=t.ws, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=TIMEOUT, preexec_fn=lambda: os.close(0))
    eq((p.returncode, p.stdout), (65, ""))
    contains(p.stderr, "csb-bwrap: error: <stdin>: not open (descriptor 0 is closed")


@case
def policy_file_leaves_stdin_to_the_command(t):
    if CODEX:
        raise Skip("csb command line")
    t.policy()
    rc, out, _ = run_raw(t, ["--policy", t.pfile, "--", "cat"], "for-the-command\n")
    eq((rc, out), (0, "for-the-command\n"))


@case
def no_policy_with_terminal_stdin_is_64(t):
    if CODEX:
        raise Skip("csb command line")
    rc, out = sandbox.run_tty([t.bin, "--", "true"], t.ws, timeout=TIMEOUT)
    eq(rc, 64)
    contains(out, "csb-bwrap: error: --policy FILE is required: standard input is a terminal")


@case
def no_policy_with_empty_stdin_is_64(t):
    if CODEX:
        raise Skip("csb command line")
    rc, out, err = run_raw(t, ["--", "true"], "")
    eq((rc, out), (64, ""))
    contains(err, "--policy FILE is required: standard input, read instead, is empty")


@case
def json_errors(t):
    if CODEX:
        raise Skip("csb command line")
    t.policy(net="proxy")
    rc, out, err = t.run(["true"], extra=["--error-format=json"])
    eq(rc, 69)
    obj = json.loads(err.strip().splitlines()[-1])
    eq((obj["level"], obj["exit"], obj["tool"]), ("error", 69, "csb-bwrap"))


@case
def print_argv_is_json(t):
    if CODEX:
        raise Skip("csb command line")
    t.policy()
    rc, out, _ = t.run(["true"], extra=["--print-argv"])
    eq(rc, 0)
    argv = json.loads(out)
    for flag in ("--unshare-net", "--unshare-user", "--unshare-pid", "--new-session", "--as-pid-1", "--lifeline-fd"):
        if flag not in argv:
            raise Fail("missing " + flag)
    # the sandbox dies with csb-bwrap through the lifeline, not through
    # bubblewrap's parent-death signal (docs/csb-bwrap.md)
    eq("--die-with-parent" in argv, False, "--die-with-parent")
    i = argv.index("--bind")
    eq(argv[i + 1:i + 3], [t.ws, t.ws], "writable bind")
    eq(argv[-2:], ["--", "true"], "tail")
    t.policy(net="enabled")
    argv = json.loads(t.run(["true"], extra=["--print-argv"])[1])
    eq("--unshare-net" in argv, False, "unshare-net with network enabled")


@case
def print_argv_is_the_argv_a_run_uses_and_runs_nothing(t):
    """--print-argv prints the very argv a run hands bubblewrap (but for
    the numbers of descriptors, which are the printing process's own),
    and exits: the command does not run and no mount target stays."""
    if CODEX:
        raise Skip("csb command line")
    log = os.path.join(t.base, "argv.log")
    w = fake_bwrap(t, "logging", f"printf '%s\\n' \"$@\" > {log}\n")
    t.write("ws/secret", "s")
    t.policy([("/", "read"), (t.ws, "write"), (t.ws + "/secret", "deny"), (t.ws + "/later", "deny")])
    cmd = ["/bin/sh", "-c", f"touch {t.ws}/ran; cat {t.ws}/secret 2>/dev/null || echo hidden"]
    rc, out, err = t.run(cmd, extra=["--bwrap", w, "--print-argv"])
    eq((rc, err), (0, ""), "print-argv")
    printed = json.loads(out)
    eq(sorted(os.listdir(t.ws)), ["secret"], "workspace after --print-argv")
    eq(os.path.exists(log), False, "bubblewrap ran")
    rc, out, err = t.run(cmd, extra=["--bwrap", w])
    eq((rc, out), (0, "hidden\n"), f"run (stderr {err!r})")
    with open(log) as f:
        ran = f.read().split("\n")[:-1]

    def norm(argv):
        return [re.sub(r"^(/proc/self/fd/)?[0-9]+$", r"\1N", a) for a in argv]
    eq(printed[0], w, "bubblewrap")
    eq(norm(printed[1:]), norm(ran), "argv of the run")


@case
def print_argv_refuses_words_json_cannot_carry(t):
    if CODEX:
        raise Skip("csb command line")
    t.policy()
    rc, out, err = t.run(["echo", b"caf\xe9"], extra=["--print-argv"])
    eq(rc, 64)
    eq(out, "", "stdout")
    if "is not valid UTF-8, which no JSON string can carry" not in err:
        raise Fail("stderr: %r" % err)


@case
def explain_names_rules(t):
    if CODEX:
        raise Skip("csb command line")
    t.write("ws/.env", "x")
    t.policy([("/", "read"), (t.ws, "write"), (t.ws + "/.env", "deny")])
    rc, out, _ = t.run(["touch", t.ws + "/ran"], extra=["--explain"])
    eq(rc, 0)
    contains(out, "backend: bubblewrap ")
    contains(out, "writable root " + t.ws)
    contains(out, "deny " + t.ws + "/.env")
    contains(out, "missing " + t.ws + "/.git kept impossible to create")
    contains(out, "host mount target " + t.ws + "/.git (empty dir) removed after the run")
    contains(out, "network: restricted (own network namespace; seccomp allows AF_UNIX sockets only)")
    contains(out, "seccomp: ptrace, ")
    eq(sorted(os.listdir(t.ws)), [".env"], "workspace after --explain (nothing ran, no mount target left)")


@case
def explain_names_what_bounds_each_deny_glob(t):
    """--explain says what bounds each deny glob's walk: nothing, the
    glob_scan_max_depth of a `**` glob, or the levels a glob without `**`
    spans itself (the cap does not apply to it)."""
    if CODEX:
        raise Skip("csb command line")
    t.write("ws/a/b/c.env", "x")
    # (a/b/c.env is 3 levels down: beyond a cap of 2 for the `**` glob)
    for depth, want in ((0, "1 match(es) now (depth unlimited"), (2, "0 match(es) now (depth 2, glob_scan_max_depth")):
        t.policy([("/", "read"), (t.ws, "write")], globs=[t.ws + "/**/*.env", t.ws + "/*/b/*.env"],
                 depth=depth or None)
        rc, out, err = t.run(["true"], extra=["--explain"])
        eq(rc, 0, err)
        contains(out, "deny glob " + t.ws + "/**/*.env: " + want + ";")
        contains(out, "deny glob " + t.ws + "/*/b/*.env: 1 match(es) now (depth 3, the glob's own;")


@case
def print_modes_are_exclusive(t):
    # each printed one thing and dropped the other without a word
    if CODEX:
        raise Skip("csb command line")
    t.policy()
    for a, b in (("--print-argv", "--print-seccomp"), ("--print-argv", "--explain"),
                 ("--print-seccomp", "--explain")):
        for flags in ((a, b), (b, a)):
            rc, out, err = t.run(["true"], extra=list(flags))
            eq((rc, out), (64, ""), " ".join(flags))
            eq(err, f"csb-bwrap: error: {a} and {b} cannot be combined\nTry 'csb-bwrap --help'.\n",
               " ".join(flags))


@case
def printing_to_a_full_stdout_fails(t):
    # --print-argv, --print-seccomp and --explain are data on stdout:
    # output that did not all get there is an error (71), not a success
    # with a cut document; so is a closed stdout
    if CODEX:
        raise Skip("csb command line")
    cases = [(pol, flag) for pol in ("managed", "disabled") for flag in ("--print-argv", "--print-seccomp", "--explain")
             if not (pol == "disabled" and flag == "--print-argv")]  # disabled: no argv (64)
    for pol, flag in cases:
        if pol == "disabled":
            t.policy([], enforcement="disabled", kind="unrestricted")
        else:
            t.policy()
        argv, _ = t.argv(["true"], extra=[flag])
        for name, why in (("/dev/full", "No space left on device"), (None, "Bad file descriptor")):
            with open(name or "/dev/null", "w") as out:
                p = subprocess.run(argv, cwd=t.ws, stdout=out, stderr=subprocess.PIPE, text=True,
                                   timeout=TIMEOUT, **({} if name else {"preexec_fn": lambda: os.close(1)}))
            what = f"{pol} {flag} {name or 'closed stdout'}"
            eq(p.returncode, 71, what + " exit (%s)" % p.stderr)
            eq(p.stderr, "csb-bwrap: error: cannot write to standard output: " + why + "\n", what + " stderr")


@case
def disabled_enforcement_runs_unsandboxed(t):
    t.policy([], enforcement="disabled", kind="unrestricted")
    rc, out, _ = t.sh(f"printf free > {t.out}/free && cat {t.out}/free")
    eq((rc, out), (0, "free"))


@case
def full_write_with_restricted_network(t):
    t.policy([("/", "write")])
    srv = TcpServer()
    try:
        rc, out, _ = t.sh(f"printf w > {t.out}/w && cat {t.out}/w; echo; "
                          f"{PY} -c \"{PROBE_TCP}\" 127.0.0.1 {srv.port}")
        eq((rc, out), (0, "w\nblocked PermissionError\n"))
    finally:
        srv.close()


@case
def landlock_backend_skips_a_root_below_a_file(t):
    """A readable root that cannot exist because a component on the way
    is a file (ENOTDIR) is skipped like a missing one, as the bubblewrap
    backend skips it, instead of refusing the run."""
    if CODEX is not None:
        raise Skip("csb Landlock backend")
    t.write("outside/pub/a", "A")
    t.write("outside/f", "F")
    for backend in ("landlock", "bubblewrap"):
        t.policy([(t.out + "/pub", "read"), (t.out + "/f/x", "read")], minimal=True, backend=backend)
        rc, out, err = t.sh(f"cat {t.out}/pub/a; cat {t.out}/f 2>/dev/null || echo f-hidden", cwd=t.out + "/pub")
        eq((rc, out), (0, "Af-hidden\n"), f"{backend} (stderr {err!r})")


@case
def landlock_backend_read_only(t):
    t.write("outside/r.txt", "readable")
    t.policy([("/", "read")], backend="landlock")
    rc, out, err = t.sh(f"cat {t.out}/r.txt; printf x > {t.out}/w 2>/dev/null || echo write-denied; exit 5")
    eq((rc, out), (5, "readablewrite-denied\n"), f"(stderr {err!r})")
    eq(t.exists("outside/w"), False, "created")


def landlock_abi():
    """The kernel's Landlock ABI version (0: none)."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    v = libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint(1))  # landlock_create_ruleset(VERSION)
    return v if v > 0 else 0


def without_landlock():
    """A preexec_fn: from here on landlock_create_ruleset fails with ENOSYS,
    as on a kernel without Landlock (a seccomp filter of our own)."""
    import ctypes
    import struct
    prog = b"".join(struct.pack("HBBI", *i) for i in (
        (0x20, 0, 0, 0),                        # ld [nr]
        (0x15, 0, 1, 444),                      # jeq landlock_create_ruleset
        (0x06, 0, 0, 0x00050000 | 38),          # ret ERRNO(ENOSYS)
        (0x06, 0, 0, 0x7fff0000)))              # ret ALLOW
    buf = ctypes.create_string_buffer(prog)
    fprog = struct.pack("HxxxxxxP", len(prog) // 8, ctypes.addressof(buf))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(38, 1, 0, 0, 0) != 0 or libc.prctl(22, 2, ctypes.c_char_p(fprog), 0, 0) != 0:  # NO_NEW_PRIVS, SECCOMP
        os._exit(99)


@case
def landlock_backend_restricted_read_grants_only_listed_roots(t):
    """Restricted reads under Landlock: the listed root and the platform
    minimum are readable, the rest is not; /dev/null is writable."""
    if CODEX:
        raise Skip("csb Landlock backend")
    t.write("outside/pub/a", "public")
    t.write("outside/secret", "secret")
    t.policy([(t.out + "/pub", "read")], minimal=True, backend="landlock")
    rc, out, err = t.sh(f"cat {t.out}/pub/a; echo; cat {t.out}/secret 2>/dev/null || echo secret-denied; "
                        f"ls {t.out} 2>/dev/null || echo ls-denied; echo x > /dev/null && echo null-ok; "
                        f"printf x > {t.out}/pub/w 2>/dev/null || echo write-denied; exit 4", cwd=t.out + "/pub")
    eq((rc, out), (4, "public\nsecret-denied\nls-denied\nnull-ok\nwrite-denied\n"), f"(stderr {err!r})")
    eq(t.exists("outside/pub/w"), False, "created")


@case
def landlock_backend_full_write_keeps_the_filter(t):
    """`/` writable under Landlock: files anywhere can be written and their
    modes changed, and the network filter of a restricted network still
    holds."""
    if CODEX:
        raise Skip("csb Landlock backend")
    t.write("outside/f", "old")
    t.policy([("/", "write", ":root")], backend="landlock")
    srv = TcpServer()
    try:
        rc, out, err = t.sh(f"printf new > {t.out}/f && chmod 600 {t.out}/f && cat {t.out}/f; echo; "
                            f"{PY} -c \"{PROBE_TCP}\" 127.0.0.1 {srv.port}")
        eq((rc, out), (0, "new\nblocked PermissionError\n"), f"(stderr {err!r})")
        eq(stat.S_IMODE(os.stat(os.path.join(t.out, "f")).st_mode), 0o600, "mode")
    finally:
        srv.close()


@case
def landlock_backend_negotiates_the_abi_and_fails_closed_without_landlock(t):
    if CODEX:
        raise Skip("csb Landlock backend")
    abi = landlock_abi()
    if abi == 0:
        raise Skip("no Landlock on this kernel")
    t.policy([("/", "read")], backend="landlock")
    rc, out, err = t.run(["true"], extra=["--explain"])
    eq((rc, err), (0, ""), "explain")
    contains(out, "backend: legacy Landlock (ABI %d)\n" % abi)
    argv, _ = t.argv(["/bin/sh", "-c", f"touch {t.ws}/ran; echo ran"])
    p = subprocess.run(argv, cwd=t.ws, capture_output=True, text=True, timeout=TIMEOUT, preexec_fn=without_landlock)
    eq((p.returncode, p.stdout), (69, ""), f"without Landlock (stderr {p.stderr!r})")
    contains(p.stderr, "cannot enforce this policy with the legacy Landlock backend: Landlock is not available "
                       "on this kernel")
    eq(t.exists("ws/ran"), False, "command ran")
    p = subprocess.run(t.argv(["true"], extra=["--explain"])[0], cwd=t.ws, capture_output=True, text=True,
                       timeout=TIMEOUT, preexec_fn=without_landlock)
    eq(p.returncode, 0, "explain without Landlock")
    contains(p.stdout, "backend: legacy Landlock (ABI 0); REFUSED: Landlock is not available")


@case
def landlock_backend_refuses_what_it_cannot_express(t):
    t.policy([("/", "read"), (t.ws, "write")], backend="landlock")
    rc, out, err = t.sh("echo ran")
    eq((rc, out), (69, ""))
    contains(err, "Landlock")
    # `/` writable as a writable root (not the `:root` rule): its
    # protected names are carve-outs Landlock cannot make
    t.policy([("/", "write")], backend="landlock")
    rc, out, err = t.sh("echo ran")
    eq((rc, out), (69, ""))
    contains(err, "Landlock backend: protected metadata /.git under writable root / cannot be kept read-only")


@case
def landlock_backend_scopes_signals_and_abstract_sockets(t):
    """Without bubblewrap there is no PID or network namespace: Landlock's
    scoping keeps the command from signalling the caller's other processes
    and, with every Unix socket allowed, from reaching the host's abstract
    sockets."""
    if CODEX:
        raise Skip("csb Landlock scoping")
    victim = subprocess.Popen(["sleep", "60"])
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    name = "csb-landlock-scope-%d" % os.getpid()
    listener.bind("\0" + name)
    listener.listen(4)
    listener.settimeout(0.5)
    try:
        t.policy([("/", "read")], backend="landlock", unix_all=True)
        script = ("kill -TERM %d 2>/dev/null && echo signalled || echo kill-refused; "
                  "python3 -c 'import socket, sys\n"
                  "s = socket.socket(socket.AF_UNIX)\n"
                  "try:\n    s.connect(\"\\0%s\"); print(\"connected\")\n"
                  "except OSError as e:\n    print(\"connect-refused\", e.errno)'" % (victim.pid, name))
        rc, out, err = t.sh(script)
        eq((rc, out), (0, "kill-refused\nconnect-refused 1\n"), f"(stderr {err!r})")
        eq(victim.poll(), None, "the caller's process was signalled")
        try:
            listener.accept()[0].close()
            raise Fail("the host's abstract socket accepted a connection")
        except socket.timeout:
            pass
    finally:
        listener.close()
        victim.kill()
        victim.wait()


@case
def missing_bwrap_fails_closed(t):
    if CODEX:
        raise Skip("csb command line")
    t.policy()
    rc, out, err = t.run(["true"], extra=["--bwrap", "/no/such/bwrap"])
    eq((rc, out), (69, ""))
    contains(err, "--bwrap")


def logging_bwrap(t, name, help_filter=""):
    """A bwrap wrapper that records every way it is run (into
    `name`.log) and otherwise behaves as /usr/bin/bwrap, its --help
    passed through help_filter."""
    log = os.path.join(t.base, name + ".log")
    path = t.write(name + "/bwrap", "#!/bin/sh\n"
                   f"echo \"$1\" >> {log}\n"
                   f"if [ \"$1\" = --help ]; then /usr/bin/bwrap --help {help_filter}; exit 0; fi\n"
                   "exec /usr/bin/bwrap \"$@\"\n", mode=0o755)
    return path, log


@case
def bwrap_planted_in_cwd_is_skipped(t):
    """A fully working bwrap the repository planted on PATH (inside the
    working directory) is never run, not even asked --help."""
    if CODEX:
        raise Skip("csb command line")
    fake, log = logging_bwrap(t, "ws/bin")
    t.policy()
    env = {"PATH": os.path.dirname(fake) + ":/usr/bin:/bin"}
    rc, out, err = t.sh("echo real-sandbox", env=env)
    eq((rc, out), (0, "real-sandbox\n"), f"run (stderr {err!r})")
    eq(os.path.exists(log), False, "the planted bwrap was run")
    rc, out, _ = t.run(["true"], extra=["--explain"], env=env)
    eq(rc, 0)
    contains(out, "backend: bubblewrap /usr/bin/bwrap (PATH)")


@case
def bwrap_planted_in_a_writable_root_is_skipped(t):
    """A bwrap on PATH where the policy lets the command write (another
    writable root than the working directory), or reached through a
    symlink it could retarget there, is never run, not even asked --help:
    a run under this policy could have planted it, and csb-bwrap runs
    bubblewrap unconfined. One below a read-only carve-out of that root is
    used."""
    if CODEX:
        raise Skip("csb command line")
    tools = os.path.join(t.base, "tools")
    fake, log = logging_bwrap(t, "tools/bin")
    real, real_log = logging_bwrap(t, "outside/bin")
    os.symlink(os.path.dirname(real), os.path.join(tools, "link"))
    kept, kept_log = logging_bwrap(t, "tools/ro/bin")
    t.policy([("/", "read"), (t.ws, "write"), (tools, "write"), (os.path.join(tools, "ro"), "read")])
    for d in (os.path.dirname(fake), os.path.join(tools, "link")):
        env = {"PATH": d + ":/usr/bin:/bin"}
        rc, out, err = t.sh("echo real-sandbox", env=env)
        eq((rc, out), (0, "real-sandbox\n"), f"run with PATH {d} (stderr {err!r})")
        rc, out, _ = t.run(["true"], extra=["--explain"], env=env)
        eq(rc, 0)
        contains(out, "backend: bubblewrap /usr/bin/bwrap (PATH)")
    eq(os.path.exists(log), False, "the bwrap planted in a writable root was run")
    eq(os.path.exists(real_log), False, "the bwrap behind a symlink in a writable root was run")
    rc, out, err = t.sh(f"touch {t.ws}/ran", env={"PATH": os.path.dirname(fake)})
    eq(rc, 69, f"status (stderr {err!r})")
    contains(err, f"skipped {fake} (the sandboxed command could replace {tools}/bin: a run under this policy could "
             "have put it there)")
    eq(t.exists("ws/ran"), False, "command ran")
    rc, out, err = t.run(["true"], extra=["--explain"], env={"PATH": os.path.dirname(kept) + ":/usr/bin:/bin"})
    eq(rc, 0, f"status (stderr {err!r})")
    contains(out, f"backend: bubblewrap {kept} (PATH)")


@case
def path_bwrap_without_the_needed_flags_is_skipped(t):
    """The first bwrap on PATH lacks --perms and --as-pid-1 (older than
    0.5): the next one is used."""
    if CODEX:
        raise Skip("csb command line")
    old, log = logging_bwrap(t, "old", "| grep -v -e --perms -e --as-pid-1")
    t.policy()
    env = {"PATH": os.path.dirname(old) + ":/usr/bin:/bin"}
    rc, out, err = t.sh("echo real-sandbox", env=env)
    eq((rc, out), (0, "real-sandbox\n"), f"run (stderr {err!r})")
    with open(log) as f:
        eq(f.read(), "--help\n", "runs of the old bwrap")
    rc, out, _ = t.run(["true"], extra=["--explain"], env=env)
    eq(rc, 0)
    contains(out, "backend: bubblewrap /usr/bin/bwrap (PATH)")


@case
def no_usable_bwrap_fails_closed_with_a_diagnosis(t):
    """Only a bwrap lacking the needed flags on PATH and none bundled:
    exit 69 before anything runs, naming what was skipped and the fix."""
    if CODEX:
        raise Skip("csb command line")
    old, log = logging_bwrap(t, "old", "| grep -v -e --perms -e --as-pid-1")
    t.policy()
    rc, out, err = t.sh(f"touch {t.ws}/ran", env={"PATH": os.path.dirname(old)})
    eq((rc, out), (69, ""), f"status (stderr {err!r})")
    contains(err, "bubblewrap is unavailable: no usable bwrap on PATH; skipped " + old + " lacks --perms")
    contains(err, "no bundled bubblewrap at ")
    contains(err, "apt install bubblewrap")
    eq(t.exists("ws/ran"), False, "command ran")
    with open(log) as f:
        eq(f.read(), "--help\n", "runs of the old bwrap")


@case
def old_bwrap_without_argv0_or_ro_bind_fd(t):
    if CODEX:
        raise Skip("csb command line")
    wrapper = t.write("old/bwrap", "#!/bin/sh\n"
                      "if [ \"$1\" = --help ]; then /usr/bin/bwrap --help | grep -v -e --argv0 -e --ro-bind-fd; exit 0; fi\n"
                      "exec /usr/bin/bwrap \"$@\"\n", mode=0o755)
    t.policy()
    rc, out, _ = t.run(["true"], extra=["--bwrap", wrapper, "--print-argv"])
    eq(rc, 0)
    argv = json.loads(out)
    eq("--argv0" in argv or "--ro-bind-fd" in argv, False, "new flags used")
    i = argv.index("/dev/.csb-bwrap")
    eq((argv[i - 2], argv[i - 1].startswith("/proc/self/fd/")), ("--ro-bind", True), "self bind")
    rc, out, _ = t.sh("echo old-ok", extra=["--bwrap", wrapper])
    eq((rc, out), (0, "old-ok\n"))


def fake_bwrap(t, name, body):
    """A bwrap wrapper that misbehaves like some hosts do (see body). Started
    early (`--args FD -- INNER...`), it first reads the options as bubblewrap
    does, waiting for csb-bwrap's plan, so that body sees the whole argv in
    "$@" at the moment bubblewrap would act on it."""
    return t.write(name + "/bwrap", "#!/bin/bash\n"
                   "if [ \"$1\" = --help ]; then exec /usr/bin/bwrap --help; fi\n"
                   "if [ \"$1\" = --args ]; then mapfile -d '' opts <&\"$2\"; eval \"exec $2<&-\"; shift 2; "
                   "set -- \"${opts[@]}\" \"$@\"; fi\n" + body +
                   "exec /usr/bin/bwrap \"$@\"\n", mode=0o755)


def early_bwrap(t, name, body):
    """A bwrap wrapper whose body runs as it starts, before it reads
    options csb-bwrap sends through --args (an early start)."""
    return t.write(name + "/bwrap", "#!/bin/bash\n"
                   "if [ \"$1\" = --help ]; then exec /usr/bin/bwrap --help; fi\n" + body +
                   "exec /usr/bin/bwrap \"$@\"\n", mode=0o755)


@case
def host_refusing_proc_is_retried_without_it(t):
    if CODEX:
        raise Skip("csb command line")
    w = fake_bwrap(t, "noproc", 'for a in "$@"; do if [ "$a" = --proc ]; then '
                   'echo "bwrap: Can\'t mount proc on /newroot/proc: Operation not permitted" >&2; exit 1; fi; done\n')
    t.policy()
    rc, out, err = t.sh("ls -A /proc | wc -l", extra=["--bwrap", w])
    eq((rc, out.strip()), (0, "0"))
    contains(err, "refused a fresh /proc")


@case
def bubblewrap_is_started_before_the_planning_when_it_can_be(t):
    """bubblewrap gets `--args FD -- INNER...` and loads while csb-bwrap
    plans, unless the policy has deny rules (masked files need descriptors
    bubblewrap inherits) or the plan turns out to need descriptors anyway
    (then the early bubblewrap is killed before it reads anything and
    started again the ordinary way); a refusal by the planning kills it
    too. The outcome is the same either way, and nothing is left behind."""
    if CODEX:
        raise Skip("csb command line")
    log = os.path.join(t.base, "first-args")
    # (logs before it reads the options: an early bubblewrap killed while
    # it loads may log nothing)
    w = early_bwrap(t, "logging", f"echo \"$1\" >> {log}\n")
    t.write("ws/secret.txt", "s")
    t.write("ws/private/key", "k")
    runs = [
        ([("/", "read"), (t.ws, "write")], "sk", ["--args"]),
        ([("/", "read"), (t.ws, "write"), (t.ws + "/secret.txt", "deny")], "denied\nk", ["--new-session"]),
        # a denied directory is a tmpfs, no descriptor
        ([("/", "read"), (t.ws, "write"), (t.ws + "/private", "deny")], "s", ["--args"]),
        # a missing read-only file needs a descriptor: started again
        ([("/", "read"), (t.ws, "write"), (t.ws + "/ro.txt", "read")], "skro-kept\n", ["--args", "--new-session"]),
    ]
    for entries, want_out, want_log in runs:
        if os.path.exists(log):
            os.unlink(log)
        t.policy(entries)
        script = "cat secret.txt 2>/dev/null || echo denied; cat private/key 2>/dev/null; "
        if entries[-1][0].endswith("/ro.txt"):
            script += "(echo x > ro.txt) 2>/dev/null || echo ro-kept; "
        script += "(echo x > .git) 2>/dev/null || echo git-kept; echo ran >> ran.log"
        rc, out, err = t.sh(script, extra=["--bwrap", w])
        eq((rc, out, err), (0, want_out + "git-kept\n", ""), f"run with {entries[-1]}")
        with open(log) as f:
            got = f.read().split()
        if want_log[0] == "--args" and len(want_log) == 2 and got == want_log[1:]:
            got = want_log  # (killed before its wrapper said anything)
        eq(got, want_log, f"bubblewrap's first arguments with {entries[-1]}")
        eq(t.read("ws/ran.log"), "ran\n", f"the command ran once with {entries[-1]}")
        os.unlink(os.path.join(t.ws, "ran.log"))
        eq(sorted(os.listdir(t.ws)), ["private", "secret.txt"], "workspace after the run")
    # refused by the planning after bubblewrap started: killed, nothing left
    os.symlink("secret.txt", os.path.join(t.ws, "link"))
    t.policy([("/", "read"), (t.ws, "write"), (t.ws + "/link/x", "read")])
    os.unlink(log)
    rc, out, err = t.sh("echo ran", extra=["--bwrap", w])
    eq((rc, out), (69, ""))
    contains(err, "symlink", "stderr")
    eq(err.count("\n"), 1, f"one line on stderr: {err!r}")
    # (killed before its wrapper logged anything, or while it wrote)
    eq((open(log).read().split() if os.path.exists(log) else []) or ["--args"], ["--args"],
       "bubblewrap started early")
    eq(sorted(os.listdir(t.ws)), ["link", "private", "secret.txt"], "workspace after the refusal")
    p = subprocess.run(["pgrep", "-f", w], capture_output=True, text=True)
    eq(p.stdout, "", "bubblewrap processes left")


@case
def options_cut_short_leave_bubblewrap_nothing_to_run(t):
    """An early bubblewrap reads its options from a pipe: a launcher killed
    while writing them leaves a prefix. The bind of csb-bwrap's own binary,
    which the inner stage's command names, is the last option, so that no
    prefix of the options runs anything, and all of them do."""
    if CODEX:
        raise Skip("csb command line")
    t.policy()
    rc, out, err = t.run(["/bin/true"], extra=["--print-argv"])
    eq((rc, err), (0, ""), "print-argv")
    argv = json.loads(out)
    sep = argv.index("--", 1)
    eq(argv[sep + 1], "/dev/.csb-bwrap", "the inner stage's command")
    opts = argv[1:sep]
    eq(opts[-3:-2] in (["--ro-bind-fd"], ["--ro-bind"]) and opts[-1] == "/dev/.csb-bwrap", True,
       f"the last option binds csb-bwrap: {opts[-3:]}")
    # (the binary under a descriptor of ours; no --info-fd, whose pipe is
    # csb-bwrap's)
    i = opts.index("--info-fd")
    opts = opts[:i] + opts[i + 2:]
    self_fd = os.open(t.bin, os.O_RDONLY)
    opts[-2] = str(self_fd) if opts[-3] == "--ro-bind-fd" else f"/proc/self/fd/{self_fd}"
    try:
        for cut in range(len(opts) + 1):
            with tempfile.TemporaryFile() as f:
                f.write(b"".join(a.encode() + b"\0" for a in opts[:cut]))
                f.seek(0)
                p = subprocess.run([argv[0], "--args", str(f.fileno()), "--", "/dev/.csb-bwrap", "--version"],
                                   pass_fds=(f.fileno(), self_fd), cwd=t.ws, capture_output=True, text=True,
                                   timeout=TIMEOUT)
            ran = p.returncode == 0 and p.stdout.startswith("csb-bwrap")
            eq(ran, cut == len(opts), f"ran with the first {cut} of {len(opts)} options ({p.stderr.strip()!r})")
    finally:
        os.close(self_fd)
        for name in (".git", ".agents", ".codex", ".csb"):
            if os.path.isdir(os.path.join(t.ws, name)):
                os.rmdir(os.path.join(t.ws, name))


@case
def bubblewrap_started_again_after_an_early_start_needs_room_for_one_plans_descriptors(t):
    """A plan that needs descriptors after an early start (read-only files
    missing under a writable root: one empty file's descriptor each) is
    made again for another bubblewrap: the first plan's descriptors are
    closed by then (the empty files' are not close-on-exec: the next
    bubblewrap would inherit them too), so the open-file limit needs room
    for one plan's, as without an early start (--no-proc)."""
    if CODEX:
        raise Skip("csb command line")
    n = 600
    t.policy([("/", "read"), (t.ws, "write")] + [(f"{t.ws}/m{i}.txt", "read") for i in range(n)])
    for extra in ([], ["--no-proc"]):
        rc, out, err = t.sh("ulimit -n; (echo x > m7.txt) 2>/dev/null || echo ro-kept",
                            extra=extra, nofile=(1024, 1024))
        # (without /proc an instrumented build's sanitizer warns of what it
        # cannot read there: only csb-bwrap's own lines count)
        if extra:
            err = "".join(l for l in err.splitlines(True) if l.startswith("csb-bwrap") or l.startswith("bwrap"))
        eq((rc, out, err), (0, "1024\nro-kept\n", ""), f"run with {extra}")
        eq(os.listdir(t.ws), [], f"workspace after the run with {extra}")


def signalling_bwrap(t):
    """A bubblewrap (early_bwrap) that sends SIGTERM to csb-bwrap when it
    starts loading, the first time: (a file made then, the wrapper)."""
    mark = os.path.join(t.base, "signalled")
    return mark, early_bwrap(t, "signalling", f"if [ ! -e {mark} ]; then kill -TERM $PPID; : > {mark}; fi\n")


def signalled_while_planning(t, mark, w, timeout=TIMEOUT):
    """Runs `echo ran > ran.log` with the bubblewrap w of signalling_bwrap,
    an empty .git in the workspace that the plan holds with a shared lock
    locked exclusively here (as a run removing it would) until the signal
    was sent, so that the signal comes while the plan is made: the
    process, its output and its errors."""
    os.mkdir(os.path.join(t.ws, ".git"))
    lock = os.open(os.path.join(t.ws, ".git"), os.O_RDONLY)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        argv, xenv = t.argv(["/bin/sh", "-c", "echo ran > ran.log"], extra=["--bwrap", w])
        p = subprocess.Popen(argv, cwd=t.ws, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, **xenv})
        wait_for(lambda: os.path.exists(mark), "the signal")
        time.sleep(0.1)
    finally:
        os.close(lock)
    out, err = p.communicate(timeout=timeout)
    return p, out, err


@case
def termination_asked_while_an_early_start_plans_a_refusal_ends_the_run_as_asked(t):
    """SIGTERM while the plan after an early start is made, a plan csb-bwrap
    then refuses (more arguments than bubblewrap parses): the refusal is
    said, and the exit code is 128 plus the signal's number, as for a
    signal at any other point of the run, not the refusal's. (The empty
    .git, locked here, keeps the planning waiting until the signal was
    sent.)"""
    if CODEX:
        raise Skip("csb's early start")
    mark, w = signalling_bwrap(t)
    n = 3100
    for i in range(n):
        open(os.path.join(t.ws, f"f{i}"), "w").close()
    t.policy([("/", "read"), (t.ws, "write")] + [(f"{t.ws}/f{i}", "read") for i in range(n)])
    p, out, err = signalled_while_planning(t, mark, w, timeout=120)
    eq((p.returncode, out, re.sub(r"needs \d+ ", "needs N ", err)),
       (128 + signal.SIGTERM, "", "csb-bwrap: error: cannot enforce this policy with bubblewrap: it needs N "
                                  "bubblewrap arguments, and bubblewrap accepts at most 9000\n"))
    eq(len(os.listdir(t.ws)), n + 1, "workspace after the run (the command did not run)")


@case
def termination_asked_while_an_early_start_plans_starts_nothing_again(t):
    """SIGTERM while the plan is made after an early start waits (the
    launcher blocks it from the start of bubblewrap on, to forward it):
    a plan that then needs another bubblewrap starts none, and the command
    does not run, as when the signal comes before bubblewrap starts; nor
    does the retry without a fresh /proc start one after a signal. (An
    empty .git in the workspace, a mount target the plan holds with a
    shared lock, locked exclusively here as a run removing it would, keeps
    the planning waiting until the signal was sent.)"""
    if CODEX:
        raise Skip("csb command line")
    mark, w = signalling_bwrap(t)
    # a missing read-only file needs a descriptor: another bubblewrap
    t.policy([("/", "read"), (t.ws, "write"), (t.ws + "/ro.txt", "read")])
    p, out, err = signalled_while_planning(t, mark, w)
    eq((p.returncode in (-signal.SIGTERM, 128 + signal.SIGTERM), out, err), (True, "", ""),
       f"exit status {p.returncode}, output")
    eq(os.listdir(t.ws), [".git"], "workspace after the run (the command did not run)")
    os.rmdir(os.path.join(t.ws, ".git"))
    # nor is one started again without /proc after bubblewrap was refused one
    # (fails once the launcher took the signal to forward it)
    w = fake_bwrap(t, "noproc", 'for a in "$@"; do if [ "$a" = --proc ]; then trap "" TERM; kill -TERM $PPID; '
                   'for i in $(seq 500); do grep -q "^ShdPnd:.*[1-9a-f]" /proc/$PPID/status || break; '
                   'sleep 0.01; done; echo "bwrap: Can\'t mount proc on /newroot/proc: Operation not permitted" >&2; '
                   'exit 1; fi; done\n')
    t.policy()
    rc, out, err = t.sh("echo ran > ran.log", extra=["--bwrap", w])
    eq((rc, out, err), (128 + signal.SIGTERM, "", ""), "refused /proc")
    eq(os.listdir(t.ws), [], "workspace after the run refused /proc (the command did not run)")


@case
def termination_asked_while_an_early_start_waits_for_the_registry_ends_the_run(t):
    """The signals that ask csb-bwrap to end wait while the plan is made
    after an early start, but not for the registry's lock, which another
    run may hold for any time (one stopped, or stuck on a file system):
    the run ends at once with 128 plus the signal's number, the early
    bubblewrap killed and nothing started or left behind, as without an
    early start (--no-proc), where the signal ends csb-bwrap itself."""
    if CODEX:
        raise Skip("csb's early start")
    mark, w = marking_bwrap(t)
    t.policy()
    for sig, extra in ((signal.SIGINT, []), (signal.SIGTERM, []), (signal.SIGINT, ["--no-proc"])):
        if os.path.exists(mark):
            os.unlink(mark)
        argv, xenv = t.argv(["/bin/sh", "-c", "echo ran > ran.log"], extra=["--bwrap", w] + extra)
        lock = registry_lock(t)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            p = subprocess.Popen(argv, cwd=t.ws, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env={**os.environ, **xenv})
            if extra:
                time.sleep(0.3)  # (waiting for the lock, bubblewrap not started)
            else:
                wait_for(lambda: os.path.exists(mark), "bubblewrap to start")
            p.send_signal(sig)
            try:
                out, err = p.communicate(timeout=5)
            except subprocess.TimeoutExpired:
                raise Fail(f"csb-bwrap {extra} still runs 5 s after {sig.name}, the registry's lock held")
        finally:
            os.close(lock)
            if p.poll() is None:
                p.kill()
                p.communicate()
        eq((p.returncode in (-sig, 128 + sig), out, err), (True, "", ""),
           f"exit status {p.returncode} after {sig.name} {extra}, output")
        eq(os.listdir(t.ws), [], f"workspace after the run {extra} (the command did not run)")
        p = subprocess.run(["pgrep", "-f", w], capture_output=True, text=True)
        eq(p.stdout, "", "bubblewrap processes left")


@case
def termination_asked_once_bubblewrap_is_gone_ends_the_run_after_its_cleanup(t):
    """From bubblewrap's start to csb-bwrap's exit, a signal that asks the
    run to end never kills csb-bwrap on the spot: one that comes after
    bubblewrap is gone (here while the cleanup waits for another run's
    hold on the registry's lock) ends that wait, and csb-bwrap exits with
    128 plus its number, the targets left to the next run's sweep. The
    command itself starts with no signal blocked."""
    if CODEX:
        raise Skip("csb mount targets")
    t.policy()
    argv, xenv = t.argv(["/bin/sh", "-c", "grep SigBlk /proc/self/status; sleep 0.3"])
    p = subprocess.Popen(argv, cwd=t.ws, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env={**os.environ, **xenv})
    lock = registry_lock(t)
    try:
        first = p.stdout.readline()
        fcntl.flock(lock, fcntl.LOCK_EX)

        def bubblewrap_gone():
            # (the keeper of the targets' last references stays till the end)
            return [c for c in child_pids(p.pid) if comm(c) != "csb-bwrap-keep"] == []
        wait_for(bubblewrap_gone, "the command and bubblewrap to end")
        time.sleep(0.1)
        eq(p.poll(), None, "csb-bwrap waiting for the registry's lock to clean up")
        p.send_signal(signal.SIGTERM)
        try:
            out, err = p.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            raise Fail("csb-bwrap still runs 5 s after SIGTERM, the registry's lock held")
    finally:
        os.close(lock)
        if p.poll() is None:
            p.kill()
            p.communicate()
    eq((p.returncode, first, out, err), (128 + signal.SIGTERM, "SigBlk:\t0000000000000000\n", "", ""),
       "exit status, the command's blocked signals, output")
    eq(sorted(os.listdir(t.ws)), [".agents", ".codex", ".csb", ".git"], "targets left to the next sweep")
    rc, out, err = t.sh("echo again")
    eq((rc, out, err), (0, "again\n", ""), "the next run")
    eq(os.listdir(t.ws), [], "workspace after the next run")


@case
def terminal_stop_while_an_early_start_waits_for_the_registry_stops_the_launcher(t):
    """A terminal's ^Z while the plan after an early start waits for
    another run's hold on the registry's lock stops csb-bwrap then (as it
    stopped bubblewrap, which waits for its options), not once the lock is
    free; SIGCONT (`fg`) continues the wait and the run."""
    if CODEX:
        raise Skip("csb job control")
    mark, w = marking_bwrap(t)
    t.policy()
    argv, xenv = t.argv(["/bin/sh", "-c", "echo ran"], extra=["--bwrap", w])
    lock = registry_lock(t)
    p = None

    def state():
        return proc_state(p.pid)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        # (a process group of its own, as a shell's job)
        p = subprocess.Popen(argv, cwd=t.ws, env={**os.environ, **xenv}, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, preexec_fn=os.setpgrp)
        wait_for(lambda: os.path.exists(mark), "bubblewrap to start")
        os.killpg(p.pid, signal.SIGTSTP)
        try:
            wait_for(lambda: state() in ("T", "Z", "gone"), "csb-bwrap to stop", timeout=5)
        except Fail:
            pass
        eq(state(), "T", "csb-bwrap's state after ^Z, the registry's lock held")
        os.killpg(p.pid, signal.SIGCONT)
        fcntl.flock(lock, fcntl.LOCK_UN)
        out, err = p.communicate(timeout=TIMEOUT)
        eq((p.returncode, out, err), (0, "ran\n", ""))
    finally:
        os.close(lock)
        if p is not None and p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    eq(os.listdir(t.ws), [], "workspace after the run")


@case
def too_many_bubblewrap_arguments_are_refused_in_the_same_words_started_early_or_not(t):
    """3,100 read-only files in a writable root, no deny rule: more than
    the 9,000 arguments bubblewrap parses, refused after an early start
    (the planning kills it) and without one (--no-proc), with the same
    message, which speaks of no masks the policy does not have."""
    if CODEX:
        raise Skip("csb's refusal: bubblewrap's argument limit")
    n = 3100
    for i in range(n):
        open(os.path.join(t.ws, f"f{i}"), "w").close()
    t.policy([("/", "read"), (t.ws, "write")] + [(f"{t.ws}/f{i}", "read") for i in range(n)])
    for extra in ([], ["--no-proc"]):
        rc, out, err = t.sh("echo ran", extra=extra, timeout=120)
        eq((rc, out, re.sub(r"needs \d+ ", "needs N ", err)),
           (69, "", "csb-bwrap: error: cannot enforce this policy with bubblewrap: it needs N bubblewrap "
                    "arguments, and bubblewrap accepts at most 9000\n"), f"run with {extra}")
        eq(len(os.listdir(t.ws)), n, f"workspace after the run with {extra}")


@case
def terminal_stop_while_an_early_bubblewrap_loads_stops_the_launcher(t):
    """A terminal's ^Z reaches bubblewrap too while it loads, before it
    reads its options: csb-bwrap, which takes the signal once the options
    are written, stops in turn, even when they are more than a pipe holds
    by default (64 KiB), and SIGCONT (`fg`) continues the run."""
    if CODEX:
        raise Skip("csb job control")
    mark = os.path.join(t.base, "stopped")
    w = early_bwrap(t, "stopping", f"if [ ! -e {mark} ]; then : > {mark}; kill -TSTP 0; fi\n")
    names = ["%04d" % i + "x" * 120 for i in range(800)]
    for n in names:
        open(os.path.join(t.ws, n), "w").close()
    t.policy([("/", "read"), (t.ws, "write")] + [(os.path.join(t.ws, n), "read") for n in names])
    argv, xenv = t.argv(["/bin/sh", "-c", "echo ran"], extra=["--bwrap", w])
    # (a process group of its own, as a shell's job)
    p = subprocess.Popen(argv, cwd=t.ws, env={**os.environ, **xenv}, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, preexec_fn=os.setpgrp)

    def state():
        return proc_state(p.pid)
    try:
        wait_for(lambda: state() in ("T", "Z", "gone"), "csb-bwrap to stop")
        eq(state(), "T", "csb-bwrap's state")
        os.killpg(p.pid, signal.SIGCONT)
        out, err = p.communicate(timeout=TIMEOUT)
        eq((p.returncode, out, err), (0, "ran\n", ""))
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()

@case
def the_options_pipe_is_bubblewraps_alone_once_it_started(t):
    """csb-bwrap keeps no end of the pipe an early bubblewrap reads its
    options from once the options are written: nothing of it stays open
    (nor counts against the caller's pipe quota: it may have been made as
    large as pipe-max-size) while the command runs. A bubblewrap gone
    before they were written (the write then fails with EPIPE, whether the
    caller ignores SIGPIPE or not) is reported as any bubblewrap that
    failed to start, and nothing is left behind."""
    if CODEX:
        raise Skip("csb's early start")
    log = os.path.join(t.base, "args-pipe")
    w = early_bwrap(t, "logging", f'readlink "/proc/$$/fd/$2" > {log}\n')
    mark = os.path.join(t.ws, "started")
    argv, _ = t.argv(["/bin/sh", "-c", f": > {mark}; sleep 30"], extra=["--bwrap", w])
    p = subprocess.Popen(argv, cwd=t.ws, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: os.path.exists(mark), "the command")
        with open(log) as f:
            pipe = f.read().strip()
        contains(pipe, "pipe:[", "bubblewrap's --args descriptor")
        held = []
        for fd in os.listdir(f"/proc/{p.pid}/fd"):
            try:
                held.append(os.readlink(f"/proc/{p.pid}/fd/{fd}"))
            except FileNotFoundError:
                pass
        eq(pipe in held, False, f"csb-bwrap holds the options pipe {pipe} while the command runs")
    finally:
        p.terminate()  # (forwarded to the command: the run ends as usual)
        p.communicate(timeout=TIMEOUT)
    eq(p.returncode, 128 + signal.SIGTERM, "exit status after SIGTERM")
    os.unlink(mark)
    eq(os.listdir(t.ws), [], "workspace after the run")
    # gone before the options were written: the registry's lock, held here,
    # keeps the planning waiting until this bubblewrap has exited
    gone = os.path.join(t.base, "gone")
    w = early_bwrap(t, "failing", f'echo "bwrap: cannot start" >&2; : > {gone}; exit 1\n')
    for sigpipe in (signal.SIG_DFL, signal.SIG_IGN):
        if os.path.exists(gone):
            os.unlink(gone)
        argv, xenv = t.argv(["/bin/sh", "-c", "echo ran > ran.log"], extra=["--bwrap", w])
        lock = registry_lock(t)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            p = subprocess.Popen(argv, cwd=t.ws, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env={**os.environ, **xenv},
                                 preexec_fn=lambda: signal.signal(signal.SIGPIPE, sigpipe))
            wait_for(lambda: os.path.exists(gone), "bubblewrap to exit")
            time.sleep(0.1)
        finally:
            os.close(lock)
        out, err = p.communicate(timeout=TIMEOUT)
        eq((p.returncode, out, err.replace(w, "W")),
           (69, "", "csb-bwrap: error: bubblewrap (W) failed to set up the sandbox: bwrap: cannot start\n"),
           f"SIGPIPE {sigpipe}")
        eq(os.listdir(t.ws), [], f"workspace after the run, SIGPIPE {sigpipe}")


@case
def options_larger_than_a_pipe_may_hold_start_bubblewrap_again_the_ordinary_way(t):
    """Options more than the caller may make a pipe hold (F_SETPIPE_SZ
    beyond /proc/sys/fs/pipe-max-size needs CAP_SYS_RESOURCE: root without
    it, or anyone else) kill the early bubblewrap before it reads anything
    and start another, which reads them from a sealed memfd: the command
    runs once, in the same sandbox as after an early start whose options
    fit (root's), and nothing is left behind."""
    if CODEX:
        raise Skip("csb's early start")
    with open("/proc/sys/fs/pipe-max-size") as f:
        limit = int(f.read())
    # denied directories with long names: each a tmpfs, named twice
    # (--tmpfs, --remount-ro), in five bubblewrap arguments
    deep = os.path.join(t.ws, "deep", *[c * 250 for c in "abcd"])
    n = limit // (2 * (len(deep) + 5)) + 50
    if 5 * n > 8000:
        raise Skip(f"pipe-max-size {limit}: more denied directories than bubblewrap takes arguments for")
    for i in range(n):
        os.makedirs(os.path.join(deep, "d%04d" % i))
    t.policy([("/", "read"), (t.ws, "write")] + [(os.path.join(deep, "d%04d" % i), "deny") for i in range(n)])
    log = os.path.join(t.base, "args-from")
    w = early_bwrap(t, "logging", 'if [ "$1" = --args ]; then readlink "/proc/$$/fd/$2" | cut -d: -f1 >> %s; '
                    'else echo argv >> %s; fi\n' % (log, log))
    # (each denied directory: one tmpfs, read-only)
    argv, _ = t.argv(["/bin/sh", "-c", "ls d0000 2>&1; ls d%04d 2>&1; echo x > ../../../../../ran.log; "
                      "awk -v d=%s/d 'index($5, d) == 1 { for (i = 7; $i != \"-\"; i++); "
                      "print $5, $(i + 1), substr($6, 1, 3) }' /proc/self/mountinfo | sort | uniq -c | "
                      "awk '{print $1, $3, $4}' | sort | uniq -c" % (n - 1, deep)], extra=["--bwrap", w])
    want_out = ("ls: cannot open directory 'd0000': Permission denied\n"
                "ls: cannot open directory 'd%04d': Permission denied\n" % (n - 1) +
                "%7d 1 tmpfs ro,\n" % n)
    r, w_end = os.pipe()
    try:
        fcntl.fcntl(w_end, 1031, 2 * limit)  # F_SETPIPE_SZ
        runs = [([], ["pipe"])]  # (the caller may exceed pipe-max-size: the options fit)
    except PermissionError:
        runs = []
    finally:
        os.close(r)
        os.close(w_end)
    # (root without CAP_SYS_RESOURCE: held to pipe-max-size, as anyone else)
    drop = ["setpriv", "--inh-caps=-sys_resource", "--bounding-set=-sys_resource", "--"] if os.geteuid() == 0 else []
    runs.append((drop, ["pipe", "/memfd"]))
    before = sorted(os.listdir(t.ws))
    for prefix, want_log in runs:
        if os.path.exists(log):
            os.unlink(log)
        p = subprocess.run(prefix + argv, cwd=os.path.join(deep), capture_output=True, text=True,
                           timeout=120)
        eq((p.returncode, p.stdout, p.stderr), (0, want_out, ""), f"run {prefix[:1]}")
        with open(log) as f:
            got = f.read().split()
        if len(want_log) == 2 and got == want_log[1:]:
            got = want_log  # (killed before its wrapper said anything)
        eq(got, want_log, f"where bubblewrap read its options from, run {prefix[:1]}")
        eq(t.read("ws/ran.log"), "x\n", f"the command ran once, run {prefix[:1]}")
        os.unlink(os.path.join(t.ws, "ran.log"))
        eq(sorted(os.listdir(t.ws)), before, f"workspace after the run {prefix[:1]}")
        eq(len(os.listdir(deep)), n, f"denied directories after the run {prefix[:1]}")
        p = subprocess.run(["pgrep", "-f", w], capture_output=True, text=True)
        eq(p.stdout, "", "bubblewrap processes left")


@case
def missing_user_namespaces_fail_closed_with_the_fix(t):
    if CODEX:
        raise Skip("csb command line")
    t.policy()
    # Ubuntu's AppArmor restriction; Debian's kernel.unprivileged_userns_clone=0
    # (bubblewrap 0.8's words, then older ones); user.max_user_namespaces=0
    for i, msg in enumerate(["bwrap: setting up uid map: Permission denied",
                             "bwrap: No permissions to create new namespace, likely because the kernel does not "
                             "allow non-privileged user namespaces. See <https://deb.li/bubblewrap> or "
                             "<file:///usr/share/doc/bubblewrap/README.Debian.gz>.",
                             "bwrap: No permissions to creating new namespace, likely because the kernel does not "
                             "allow non-privileged user namespaces. On e.g. debian this can be enabled with "
                             "'sysctl kernel.unprivileged_userns_clone=1'.",
                             "bwrap: Creating new namespace failed: nesting depth or /proc/sys/user/max_*_namespaces "
                             "exceeded (ENOSPC)"]):
        w = fake_bwrap(t, "nouserns%d" % i, "echo %s >&2; exit 1\n" % shlex.quote(msg))
        rc, out, err = t.sh(f"touch {t.ws}/ran", extra=["--bwrap", w])
        eq((rc, out), (69, ""), msg)
        contains(err, "cannot create the sandbox's user namespace (" + msg + "). Fix: ")
        contains(err, "apparmor_restrict_unprivileged_userns")
        contains(err, "kernel.unprivileged_userns_clone=1")
        eq(t.exists("ws/ran"), False, "command ran")


def run_with_proc_version(t, version, args):
    """csb-bwrap ARGS in a user and mount namespace of its own where
    /proc/version reads `version` (as on a WSL kernel)."""
    fake = t.write("version", version + "\n")
    return subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "/bin/sh", "-c",
                           'mount --bind "$0" /proc/version && exec "$@"', fake, t.bin, "--policy", t.pfile, *args],
                          cwd=t.ws, capture_output=True, text=True, timeout=TIMEOUT)


@case
def wsl1_is_refused(t):
    """WSL1 has no user namespaces: refused with exit 69 and the fix
    before anything runs; WSL2 (a real Linux kernel) is not."""
    if CODEX:
        raise Skip("csb host detection")
    t.policy()
    for version in ("Linux version 4.4.0-19041-Microsoft (Microsoft@Microsoft.com) (gcc version 5.4.0 (GCC) ) "
                    "#1237-Microsoft Sat Sep 11 14:32:00 PST 2021",
                    "Linux version 5.10.16.3-microsoft-wsl1 (x@y) #1 SMP"):
        p = run_with_proc_version(t, version, ["--", "/bin/sh", "-c", f"touch {t.ws}/ran"])
        eq((p.returncode, p.stdout, p.stderr), (69, "", "csb-bwrap: error: csb-bwrap uses bubblewrap, which WSL1 "
                                                "cannot run (no user namespaces); use WSL2\n"), version)
        eq(t.exists("ws/ran"), False, "command ran")
    for version in ("Linux version 5.15.153.1-microsoft-standard-WSL2 (root@941d701f84f1) (gcc (GCC) 11.2.0) #1 SMP",
                    "Linux version 6.6.36.3-microsoft-standard-WSL2+ #1 SMP",
                    "Linux version 4.19.84-microsoft-standard (oe-user@oe-host) (gcc version 8.2.0 (GCC)) #1 SMP"):
        p = run_with_proc_version(t, version, ["--print-argv", "--", "true"])
        eq(p.returncode, 0, f"{version} (stderr {p.stderr!r})")
        eq(json.loads(p.stdout)[-1], "true", "argv")


@case
def broken_stderr_still_removes_mount_targets(t):
    """A message csb-bwrap writes once the mount targets exist (here bubblewrap's
    failure, relayed) into a pipe nobody reads any more must not kill it with
    SIGPIPE before it has removed them."""
    if CODEX:
        raise Skip("csb command line")
    w = fake_bwrap(t, "failing", 'echo "bwrap: something went wrong" >&2; exit 1\n')
    t.policy()
    argv, _ = t.argv(["true"], extra=["--bwrap", w])
    r, wfd = os.pipe()
    os.close(r)
    try:
        p = subprocess.run(argv, cwd=t.ws, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=wfd,
                           timeout=TIMEOUT)
    finally:
        os.close(wfd)
    eq(p.returncode == -signal.SIGPIPE, False, "killed by SIGPIPE")
    eq(sorted(os.listdir(t.ws)), [], "left in the workspace")


def bundled_layout(t):
    src = os.environ.get("CSB_TEST_BUNDLED_BWRAP")
    if not src or CODEX:
        raise Skip("no bundled bubblewrap given (CSB_TEST_BUNDLED_BWRAP)")
    inst = os.path.join(t.base, "inst")
    os.makedirs(inst + "/bin")
    os.makedirs(inst + "/libexec/csb")
    shutil.copy(t.bin, inst + "/bin/csb-bwrap")
    shutil.copy(src, inst + "/libexec/csb/bwrap")
    os.chmod(inst + "/libexec/csb/bwrap", 0o755)
    return inst


@case
def bundled_bwrap_is_used_when_path_has_none(t):
    inst = bundled_layout(t)
    t.policy()
    env = {"PATH": "/nonexistent"}
    p = subprocess.run([inst + "/bin/csb-bwrap", "--policy", t.pfile, "--explain", "--", "true"],
                       cwd=t.ws, env={**os.environ, **env}, capture_output=True, text=True)
    eq(p.returncode, 0, "explain exit (%s)" % p.stderr)
    contains(p.stdout, "/libexec/csb/bwrap (bundled)")
    p = subprocess.run([inst + "/bin/csb-bwrap", "--policy", t.pfile, "--", "/bin/echo", "bundled-ok"],
                       cwd=t.ws, env={**os.environ, **env}, capture_output=True, text=True)
    eq((p.returncode, p.stdout), (0, "bundled-ok\n"), "run (%s)" % p.stderr)


@case
def tampered_bundled_bwrap_is_refused(t):
    inst = bundled_layout(t)
    with open(inst + "/libexec/csb/bwrap", "ab") as f:
        f.write(b"\0")
    t.policy()
    p = subprocess.run([inst + "/bin/csb-bwrap", "--policy", t.pfile, "--", "/bin/echo", "ran"],
                       cwd=t.ws, env={**os.environ, "PATH": "/nonexistent"}, capture_output=True, text=True)
    eq((p.returncode, p.stdout), (69, ""))
    contains(p.stderr, "digest mismatch")


def main():
    global CODEX
    args = sys.argv[1:]
    only = None
    if "-k" in args:
        i = args.index("-k")
        only = args[i + 1]
        del args[i:i + 2]
    if "--codex" in args:
        i = args.index("--codex")
        CODEX = os.path.abspath(args[i + 1])
        del args[i:i + 2]
        args = args or [CODEX]
    if "--unprivileged" in args:
        args.remove("--unprivileged")
        rc = unpriv.run(__file__, args + (["-k", only] if only else []),
                        env_files=("CSB_TEST_RESOLVE", "CSB_TEST_BUNDLED_BWRAP"))
        if rc is not None:
            return rc
    if not args:
        print(__doc__)
        return 64
    base = tempfile.mkdtemp(prefix="csb-bwrap-b-", dir=sandbox.scratch_dir())
    passed = failed = skipped = variants = 0
    for binary in args:
        binary = os.path.abspath(binary)
        tag = os.path.basename(binary)
        for case_fn in CASES:
            if only and only not in case_fn.__name__:
                continue
            t = Env(binary, base)
            t0 = time.time()
            fn, why = sandbox.for_caller(case_fn)
            name = case_fn.__name__ + ("" if fn in (case_fn, None) else f" [{fn.__name__}]")
            try:
                if fn is None:
                    raise Skip(why)
                variants += fn is not case_fn
                fn(t)
                passed += 1
                print(f"PASS {tag} {name} ({time.time() - t0:.2f}s)", flush=True)
            except Skip as e:
                skipped += 1
                print(f"SKIP {tag} {name}: {e}", flush=True)
            except Exception as e:  # noqa: BLE001
                failed += 1
                print(f"FAIL {tag} {name}: {type(e).__name__}: {e}", flush=True)
            finally:
                shutil.rmtree(t.base, ignore_errors=True)
    shutil.rmtree(base, ignore_errors=True)
    print(f"{passed} passed, {failed} failed, {skipped} skipped" +
          (f" ({variants} runs of a root-only case's unprivileged variant)" if variants else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

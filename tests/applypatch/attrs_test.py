#!/usr/bin/env python3
"""Extended attributes and POSIX ACLs survive csb-applypatch's replacement
of a file (update, move), security.capability does not, and a failure of
any step (copying them included) leaves the tree and every attribute as
they were: a rollback after the commit point gives the old file back its
security.capability too (as root).

Runs on each of this machine's file systems at hand that supports them:
the test's temporary directory and /dev/shm (tmpfs). A file system that
lacks user extended attributes or ACLs is reported and not used; the test
fails when none has them.

With --privs: set-user-ID and set-group-ID bits and file capabilities,
as root, with and without CAP_FSETID and CAP_SETFCAP (taken away with
setpriv):

  write     a written file (also one whose bytes stay the same) loses
            set-user-ID, and set-group-ID when the group may execute it,
            without CAP_FSETID (the kernel's rule for a write), and keeps
            them with it; it never carries security.capability.
  rollback  the failure of any step exits 71 and leaves every file as it
            was: contents, owner, mode with those bits, and
            security.capability byte for byte, also when it comes after
            the commit point (told apart by stopping the run at the same
            step: its journal then holds `commit`).
  forward   where a rollback after the commit point cannot give a file
            back what it had (the set-group-ID bit of a file whose group
            root is not in, without CAP_FSETID; a file capability, without
            CAP_SETFCAP), the run completes the patch instead and says so
            (exit 71); it must happen at least once.

That needs root outside Bazel's sandbox (a file of another group); it is
skipped otherwise.

Usage: attrs_test.py --bin PATH-TO-csb-applypatch-fi [--privs]
"""

import argparse
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

# system.posix_acl_access: version 2, then (tag, perm, id) entries:
# user::rw-, group::r--, group:GID:rw-, mask::rw-, other::---, with the
# test's own group (in a user namespace, as under Bazel's sandbox, only
# mapped IDs can be named).
ACL = struct.pack("<I", 2) + b"".join(
    struct.pack("<HHI", tag, perm, ident) for tag, perm, ident in (
        (0x01, 6, 0xFFFFFFFF), (0x04, 4, 0xFFFFFFFF), (0x08, 6, os.getgid()),
        (0x10, 6, 0xFFFFFFFF), (0x20, 0, 0xFFFFFFFF)))
# security.capability, VFS_CAP_REVISION_2 with CAP_NET_RAW permitted.
CAPS = struct.pack("<IIIII", 0x02000000, 1 << 13, 0, 0, 0)
# A group root is not in.
OTHER_GID = 1000

OLD = {"a.txt": b"alpha\nbeta\n", "b.txt": b"move me\n", "plain.txt": b"p\n"}
PATCH = """*** Begin Patch
*** Update File: a.txt
@@
-beta
+BETA
*** Update File: b.txt
*** Move to: moved/b.txt
@@
-move me
+moved
*** Update File: plain.txt
@@
-p
+P
*** End Patch
"""


def probe(top):
    """(user xattrs, ACLs) supported in directory top."""
    p = os.path.join(top, "probe")
    open(p, "wb").close()
    got = []
    for name, value in (("user.probe", b"1"), ("system.posix_acl_access", ACL)):
        try:
            os.setxattr(p, name, value)
            got.append(True)
        except OSError as e:
            print("%s: %s refused: %s" % (top, name, e))
            got.append(False)
    os.unlink(p)
    return tuple(got)


def attrs(path):
    out = {}
    for name in os.listxattr(path, follow_symlinks=False):
        out[name] = os.getxattr(path, name, follow_symlinks=False)
    return out


def make_tree(work, acls, caps):
    os.makedirs(work)
    for rel, data in OLD.items():
        with open(os.path.join(work, rel), "wb") as f:
            f.write(data)
    a, b = os.path.join(work, "a.txt"), os.path.join(work, "b.txt")
    os.setxattr(a, "user.tag", b"alpha tag")
    os.setxattr(a, "user.bin", b"\x00\xff\n")
    os.setxattr(b, "user.tag", b"b tag")
    if acls:
        os.setxattr(a, "system.posix_acl_access", ACL)
        os.setxattr(b, "system.posix_acl_access", ACL)
    os.chmod(a, 0o640)  # after the ACL, whose mask entry it sets
    if caps:
        os.setxattr(a, "security.capability", CAPS)


def state(work):
    """Every file's bytes, mode, owner and attributes, and every other name."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(work):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, work)
            if os.path.isdir(full):
                out[rel] = "dir"
            else:
                st = os.lstat(full)
                with open(full, "rb") as f:
                    out[rel] = (f.read(), oct(st.st_mode), st.st_uid, st.st_gid,
                                sorted(attrs(full).items()))
    return out


def run(binary, work, env_extra=None, patch=PATCH, drop=()):
    """Runs the patch, without the capabilities in drop."""
    env = dict(os.environ, CSB_PATCH_FAULT_NOSYNC="1")
    env.update(env_extra or {})
    argv = [binary, patch]
    if drop:
        argv = ["setpriv", "--inh-caps=" + ",".join("-" + c for c in drop),
                "--bounding-set=" + ",".join("-" + c for c in drop), "--"] + argv
    return subprocess.run(argv, cwd=work, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60)


def count_steps(binary, top, acls, caps, with_attrs, failures, tag):
    """Fails every step in turn; returns the number of steps."""
    n = 0
    while True:
        n += 1
        work = os.path.join(top, "fail-%d-%d" % (with_attrs, n))
        if with_attrs:
            make_tree(work, acls, caps)
        else:
            os.makedirs(work)
            for rel, data in OLD.items():
                with open(os.path.join(work, rel), "wb") as f:
                    f.write(data)
        before = state(work)
        r = run(binary, work, {"CSB_PATCH_FAULT_STEP": str(n), "CSB_PATCH_FAULT_MODE": "fail"})
        if r.returncode == 0:
            shutil.rmtree(work)
            return n - 1
        if r.returncode != 71:
            failures.append("%s: step %d: exit %d (%r)" % (tag, n, r.returncode, r.stderr))
        if state(work) != before:
            failures.append("%s: step %d failed and changed the tree" % (tag, n))
        shutil.rmtree(work)
        if n > 200:
            failures.append("%s: more than 200 steps" % tag)
            return n


def run_on(binary, top, acls, caps, failures):
    tag = top
    work = os.path.join(top, "work")
    make_tree(work, acls, caps)
    a_before = attrs(os.path.join(work, "a.txt"))
    b_before = attrs(os.path.join(work, "b.txt"))
    r = run(binary, work)
    if r.returncode != 0:
        failures.append("%s: exit %d (%r)" % (tag, r.returncode, r.stderr))
        return
    want_a = {k: v for k, v in a_before.items() if k != "security.capability"}
    got_a = attrs(os.path.join(work, "a.txt"))
    if got_a != want_a:
        failures.append("%s: a.txt attributes %r, expected %r" % (tag, got_a, want_a))
    got_b = attrs(os.path.join(work, "moved", "b.txt"))
    if got_b != b_before:
        failures.append("%s: moved/b.txt attributes %r, expected %r" % (tag, got_b, b_before))
    if attrs(os.path.join(work, "plain.txt")):
        failures.append("%s: plain.txt got attributes" % tag)
    mode = os.lstat(os.path.join(work, "a.txt")).st_mode & 0o7777
    if mode != 0o640:
        failures.append("%s: a.txt mode %o, expected 640" % (tag, mode))
    with open(os.path.join(work, "a.txt"), "rb") as f:
        if f.read() != b"alpha\nBETA\n":
            failures.append("%s: a.txt contents" % tag)
    # A failure at any step, copying the attributes included, changes nothing
    # (a file capability included); the attributes add steps (so that those
    # steps are among those failed).
    plain = count_steps(binary, top, acls, False, False, failures, tag + " plain")
    full = count_steps(binary, top, acls, caps, True, failures, tag)
    if full <= plain:
        failures.append("%s: %d steps with attributes, %d without" % (tag, full, plain))
    print("%s: %d steps with attributes, %d without" % (tag, full, plain))


PRIVS_PATCH = """*** Begin Patch
*** Update File: tool
@@
-old tool
+new tool
*** Update File: other
@@
-old other
+new other
*** Delete File: gone
*** Update File: same
@@
 same
*** End Patch
"""

PRIVS_FILES = {"tool": b"old tool\n", "other": b"old other\n", "gone": b"bye\n",
               "same": b"same\n"}

# name: (mode, group, capabilities) per file; capabilities dropped from the
# run; the reason a rollback may give way to completing the patch (None:
# it never may); the modes after a successful run.
PRIVS_SCENARIOS = (
    ("setid kept", {"tool": (0o6755, 0, None), "gone": (0o4755, 0, None),
                    "same": (0o6755, 0, None)}, (), None, {"tool": 0o6755, "same": 0o6755}),
    # "same": its update writes the bytes it had: the bits go all the same.
    ("setid dropped", {"tool": (0o6755, 0, None), "gone": (0o4755, 0, None),
                       "same": (0o6755, 0, None)}, ("fsetid",), None,
     {"tool": 0o755, "same": 0o755}),
    ("setgid, other group", {"tool": (0o6755, OTHER_GID, None)}, ("fsetid",),
     r"cannot restore the mode 6755 of {work}/tool", {"tool": 0o755}),
    ("caps", {"tool": (0o755, 0, CAPS), "gone": (0o644, 0, CAPS)}, (), None, {"tool": 0o755}),
    ("caps without CAP_SETFCAP", {"tool": (0o755, 0, CAPS), "gone": (0o644, 0, CAPS)},
     ("setfcap",), r"cannot restore the file capabilities of {work}/(tool|gone): "
                   r"Operation not permitted", {"tool": 0o755}),
)


def privs_tree(work, spec):
    os.makedirs(work)
    for name, data in PRIVS_FILES.items():
        p = os.path.join(work, name)
        with open(p, "wb") as f:
            f.write(data)
        mode, gid, caps = spec.get(name, (0o644, 0, None))
        os.chown(p, 0, gid)
        os.chmod(p, mode)
        if caps is not None:
            os.setxattr(p, "security.capability", caps)


def committed_at(binary, top, spec, drop, n):
    """Whether a run stopped at step n has written its commit record."""
    work = os.path.join(top, "stop-%d" % n)
    privs_tree(work, spec)
    run(binary, work, {"CSB_PATCH_FAULT_STEP": str(n), "CSB_PATCH_FAULT_MODE": "exit"},
        PRIVS_PATCH, drop)
    done = False
    for name in os.listdir(work):
        if name.endswith(".j"):
            with open(os.path.join(work, name), "rb") as f:
                done = done or b"\ncommit\n" in f.read()
    shutil.rmtree(work)
    return done


def run_privs_scenario(binary, base, name, spec, drop, forward, modes, failures):
    top = os.path.join(base, name.replace(" ", "-").replace(",", ""))
    os.makedirs(top)
    tag = name
    # The reference run.
    work = os.path.join(top, "ref")
    privs_tree(work, spec)
    before = state(work)
    r = run(binary, work, None, PRIVS_PATCH, drop)
    if r.returncode != 0:
        failures.append("%s: exit %d (%r)" % (tag, r.returncode, r.stderr))
        return
    new = state(work)
    for f, want in modes.items():
        got = int(new[f][1], 8) & 0o7777
        if got != want:
            failures.append("%s: %s mode %o after the patch, expected %o" % (tag, f, got, want))
    for f, v in new.items():
        if any(a == "security.capability" for a, _ in v[4]):
            failures.append("%s: %s has security.capability after the patch" % (tag, f))
    shutil.rmtree(work)

    outcomes = {"old before the commit point": 0, "old after it": 0, "completed": 0}
    n = 0
    while n < 200:
        n += 1
        work = os.path.join(top, "fail-%d" % n)
        privs_tree(work, spec)
        r = run(binary, work, {"CSB_PATCH_FAULT_STEP": str(n), "CSB_PATCH_FAULT_MODE": "fail"},
                PRIVS_PATCH, drop)
        if r.returncode == 0:
            shutil.rmtree(work)
            break
        after = state(work)
        shutil.rmtree(work)
        committed = committed_at(binary, top, spec, drop, n)
        step = "%s: step %d%s" % (tag, n, " (after the commit point)" if committed else "")
        err = r.stderr.decode()
        if r.returncode != 71:
            failures.append("%s: exit %d (%r)" % (step, r.returncode, err))
        if after == before:
            outcomes["old after it" if committed else "old before the commit point"] += 1
            continue
        pattern = (r"csb-applypatch: error: cannot roll back \(%s\), the patch was applied "
                   r"completely instead: .+\n" % forward.format(work=re.escape(work))
                   if forward else None)
        if committed and pattern and after == new and re.fullmatch(pattern, err):
            outcomes["completed"] += 1
            continue
        diff = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        failures.append("%s: the tree is neither as it was nor completed (%s differ; %r)" %
                        (step, diff, err))
    print("%s: %d steps, %s" % (tag, n - 1, outcomes))
    if not outcomes["old after it"] and not outcomes["completed"]:
        failures.append("%s: no step failed after the commit point" % tag)
    if forward and not outcomes["completed"]:
        failures.append("%s: no rollback gave way to completing the patch" % tag)
    if not forward and not outcomes["old after it"]:
        failures.append("%s: no rollback after the commit point" % tag)


def run_privs(binary, failures):
    """The --privs scenarios (skipped unless root with setpriv)."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        print("skipped: needs root and setpriv")
        return
    base = tempfile.mkdtemp(prefix="apprivs-", dir=os.environ.get("TEST_TMPDIR"))
    try:
        probe = os.path.join(base, "probe")
        open(probe, "wb").close()
        try:
            os.chown(probe, 0, OTHER_GID)
            os.setxattr(probe, "security.capability", CAPS)
        except OSError as e:
            print("skipped: %s" % e)
            return
        for name, spec, drop, forward, modes in PRIVS_SCENARIOS:
            run_privs_scenario(binary, base, name, spec, drop, forward, modes, failures)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def run_places(binary, failures):
    """The attribute checks on each file system at hand."""
    caps = os.geteuid() == 0  # setting security.capability needs CAP_SETFCAP
    if not caps:
        print("not root: security.capability is not set on the old file")
    places = [os.environ.get("TEST_TMPDIR") or tempfile.gettempdir(), "/dev/shm"]
    used_user = used_acl = 0
    for place in places:
        if not os.path.isdir(place):
            print("%s: missing" % place)
            continue
        top = tempfile.mkdtemp(prefix="apattr-", dir=place)
        try:
            fs = subprocess.run(["stat", "-f", "-c", "%T", top], stdout=subprocess.PIPE,
                                universal_newlines=True).stdout.strip()
            user, acls = probe(top)
            print("%s (%s): user xattrs %s, ACLs %s" % (place, fs, user, acls))
            if not user:
                continue
            used_user += 1
            used_acl += acls
            run_on(binary, top, acls, caps, failures)
        finally:
            shutil.rmtree(top, ignore_errors=True)
    if not used_user or not used_acl:
        failures.append("no file system here supports user extended attributes and ACLs "
                        "(user: %d, ACLs: %d)" % (used_user, used_acl))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--privs", action="store_true")
    args = ap.parse_args()
    binary = os.path.abspath(args.bin)
    failures = []
    (run_privs if args.privs else run_places)(binary, failures)
    for f in failures[:30]:
        print("FAIL " + f)
    print("%d failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Extended attributes and POSIX ACLs survive csb-applypatch's replacement
of a file (update, move), security.capability does not, and a failure of
any step (copying them included) leaves the tree and every attribute as
they were.

Runs on each of this machine's file systems at hand that supports them:
the test's temporary directory and /dev/shm (tmpfs). A file system that
lacks user extended attributes or ACLs is reported and not used; the test
fails when none has them.

Usage: attrs_test.py --bin PATH-TO-csb-applypatch-fi
"""

import argparse
import os
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
    """Every file's bytes, mode and attributes, and every other name."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(work):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, work)
            if os.path.isdir(full):
                out[rel] = "dir"
            else:
                with open(full, "rb") as f:
                    out[rel] = (f.read(), oct(os.lstat(full).st_mode), sorted(attrs(full).items()))
    return out


def run(binary, work, env_extra=None):
    env = dict(os.environ, CSB_PATCH_FAULT_NOSYNC="1")
    env.update(env_extra or {})
    return subprocess.run([binary, PATCH], cwd=work, env=env, stdout=subprocess.PIPE,
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
    # A failure at any step, copying the attributes included, changes nothing;
    # the attributes add steps (so that those steps are among those failed).
    # Without a file capability, which a rollback after the commit point
    # does not restore (the restore copy is a new file).
    plain = count_steps(binary, top, acls, False, False, failures, tag + " plain")
    full = count_steps(binary, top, acls, False, True, failures, tag)
    if full <= plain:
        failures.append("%s: %d steps with attributes, %d without" % (tag, full, plain))
    print("%s: %d steps with attributes, %d without" % (tag, full, plain))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    args = ap.parse_args()
    binary = os.path.abspath(args.bin)
    failures = []
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
    for f in failures[:30]:
        print("FAIL " + f)
    print("%d failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Crash and failure safety of csb-applypatch.

Applies a multi-file patch (adds, updates with CRLF and without a final
newline, a delete, a move into new directories) with the test-only build
(`csb-applypatch-fi`), stopping it after step N for every N until the run
completes. Two patches: a small one (each file synced on its own) and one
over 28 files in several directories, run with the threshold for syncing
files one by one lowered (CSB_PATCH_FAULT_FSYNC_EACH_MAX=16) so that one
syncfs makes them durable before the commit record; both write their files
and rename them on several threads, so step N falls on whichever file a
thread reaches first.

  kill  SIGKILL at step N. Right after, every file must be entirely old or
        entirely new. The next run (a small unrelated patch in the same
        directories) must finish or undo the interrupted change, after which
        the whole tree is entirely old or entirely new and no temporary file
        remains.
  exit  _exit() at step N; same checks.
  fail  the system call of step N fails (EIO). The run must exit 71 and
        leave the whole tree old (before the commit point) or old as well
        after rolling back (after it), with no temporary file.
  swap  after step N a directory of the patch becomes a symlink to one
        outside the tree (see run_swaps): the outside one must not change;
        the same once the recovery of an interrupted run has checked its
        paths (run_recovery_swap).
  stop  the run stops (SIGSTOP) before step N while a second run applies
        another patch to the same directories, then goes on (see
        run_concurrent): the second run must not remove any file of the
        first, both must succeed, with both changes in the tree.
        Stopped so, a file the patch updates, deletes or moves is written
        in place (same size, see run_written_in_place), or a file is
        made where the patch adds one: up to the commit point the run must
        fail (Stale file handle, exit 71) and keep that write; after it,
        the patch is applied.

Killed at every step, the same patch is tried again (run_retries): first
with --dry-run, which must leave the tree as it is (the leftovers too),
name every interrupted transaction with the way the run recovers it and
report what the run then does: the run itself recovers first, says so
on stderr for each transaction the dry run named (a `note:` line, same
journal, same way), and must succeed where the change was rolled back, fail as the dry run said where
it was rolled forward, and leave the new tree either way.

Under a policy whose writable directory lies below a read-only one that
the patch creates it in (run_placement), killed at every step: no file
of the run may ever be in a directory the policy keeps read-only, and
files the policy does not let the run write (a temporary file next to a
file granted alone, a directory created in a read-only one) are refused
with nothing written.

Usage: fault_injection_test.py --bin PATH-TO-csb-applypatch-fi
"""

import argparse
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import policy_gen  # noqa: E402

PATCH = """*** Begin Patch
*** Add File: added.txt
+brand new
*** Add File: fresh/dir/added2.txt
+also new
*** Update File: a.txt
@@
 alpha
-beta
+BETA
*** Update File: sub/crlf.txt
@@
 one
-two
+TWO
*** Update File: sub/nonl.txt
@@
-first
+FIRST
*** Delete File: gone.txt
*** Update File: mover.txt
*** Move to: moved/deep/mover.txt
@@
-move me
+moved
*** End Patch
"""

PROBE = """*** Begin Patch
*** Add File: .probe
+p
*** Add File: sub/.probe
+p
*** End Patch
"""
PROBE_FILES = (".probe", "sub/.probe")


def probe_for(dirs):
    """A small patch adding .probe in each directory (the next run there)."""
    files = tuple(os.path.join(d, ".probe") if d else ".probe" for d in dirs)
    return ("*** Begin Patch\n" + "".join("*** Add File: %s\n+p\n" % f for f in files) +
            "*** End Patch\n"), files

OLD = {
    "a.txt": b"alpha\nbeta\ngamma\n",
    "sub/crlf.txt": b"one\r\ntwo\r\nthree\r\n",
    "sub/nonl.txt": b"first\nlast",
    "gone.txt": b"delete me\n",
    "mover.txt": b"move me\n",
    "keep.txt": b"untouched\n",
}


# More files than are synced one by one: 24 updates in 4 directories, an add
# into a new directory, a delete and a move between directories.
MANY_OLD = {"a.txt": b"alpha\nbeta\n", "sub/keep.txt": b"untouched\n"}
MANY_PATCH = ["*** Begin Patch\n*** Update File: a.txt\n@@\n-beta\n+BETA\n"]
for _i in range(24):
    _rel = "d%d/f%02d.txt" % (_i % 4, _i)
    MANY_OLD[_rel] = ("".join("line %d\n" % k for k in range(20))).encode()
    MANY_PATCH.append("*** Update File: %s\n@@\n line 4\n-line 5\n+LINE 5\n@@\n-line 15\n"
                      "+LINE 15\n" % _rel)
MANY_OLD["d1/gone.txt"] = b"bye\n"
MANY_OLD["d2/mover.txt"] = b"move me\n"
MANY_PATCH.append("*** Add File: fresh/x/new.txt\n+new\n*** Delete File: d1/gone.txt\n"
                  "*** Update File: d2/mover.txt\n*** Move to: d3/moved.txt\n@@\n-move me\n"
                  "+moved\n*** End Patch\n")
MANY_PATCH = "".join(MANY_PATCH)

# Leftovers of a run stopped before its journal was complete (pointers to
# it in the other directories) go with the next run in their directory:
# each scenario's probe touches every directory the patch does.
SCENARIOS = (("small", OLD, PATCH, (PROBE, PROBE_FILES), {}),
             ("batched", MANY_OLD, MANY_PATCH, probe_for(("", "sub", "d0", "d1", "d2", "d3")),
              {"CSB_PATCH_FAULT_FSYNC_EACH_MAX": "16"}))


def make_tree(top, files=None):
    for rel, data in (files or OLD).items():
        p = os.path.join(top, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
    os.chmod(os.path.join(top, "a.txt"), 0o755)


def snapshot(top):
    out = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, top)
            st = os.lstat(full)
            if stat.S_ISDIR(st.st_mode):
                out[rel] = ("d",)
            elif stat.S_ISLNK(st.st_mode):
                out[rel] = ("l", os.readlink(full))
            else:
                with open(full, "rb") as f:
                    out[rel] = ("f", f.read(), stat.S_IMODE(st.st_mode))
    return out


def files_only(snap):
    return {k: v for k, v in snap.items()
            if v[0] == "f" and not os.path.basename(k).startswith(".csb-applypatch-")}


def artifacts(top):
    return [k for k in snapshot(top) if os.path.basename(k).startswith(".csb-applypatch-")]


def run(binary, cwd, patch, env_extra=None, policy=None, options=()):
    env = dict(os.environ)
    env.pop("CSB_PATCH_FAULT_STEP", None)
    env.pop("CSB_PATCH_FAULT_MODE", None)
    env["CSB_PATCH_FAULT_NOSYNC"] = "1"  # durability is not observable here
    if env_extra:
        env.update(env_extra)
    argv = [binary] + (["--policy", policy] if policy else []) + list(options) + [patch]
    return subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60)


def run_scenario(binary, base, name, files, patch, probe, env, failures):
    """Stops the patch at every step in each mode; returns the checks made."""
    checks = 0
    probe, probe_files = probe
    # Reference states.
    ref = os.path.join(base, "%s-ref" % name)
    os.makedirs(ref)
    make_tree(ref, files)
    old = snapshot(ref)
    r = run(binary, ref, patch, env)
    if r.returncode != 0:
        failures.append("%s: reference run failed: %r" % (name, r.stderr))
        return checks
    new = snapshot(ref)
    old_files, new_files = files_only(old), files_only(new)
    if old_files == new_files:
        failures.append("%s: patch changed nothing" % name)
        return checks

    total = None
    for mode in ("kill", "exit", "fail"):
        outcomes = {"old": 0, "new": 0}
        n = 0
        while True:
            n += 1
            if n > 500:
                failures.append("%s %s: more than 500 steps" % (name, mode))
                break
            work = os.path.join(base, "%s-%s-%d" % (name, mode, n))
            os.makedirs(work)
            make_tree(work, files)
            r = run(binary, work, patch,
                    dict(env, CSB_PATCH_FAULT_STEP=str(n), CSB_PATCH_FAULT_MODE=mode))
            tag = "%s %s step %d" % (name, mode, n)
            if r.returncode == 0 and (total is None or n > total):
                # Step n is past the last step: the run completed.
                if files_only(snapshot(work)) != new_files or artifacts(work):
                    failures.append("%s %s: clean run gave a wrong tree" % (name, mode))
                shutil.rmtree(work)
                break
            if r.returncode == 0:
                # A failed cleanup step: the change is complete and the
                # leftovers go with the next run.
                if files_only(snapshot(work)) != new_files:
                    failures.append("%s: succeeded with a wrong tree" % tag)
                r2 = run(binary, work, probe)
                if r2.returncode != 0 or artifacts(work):
                    failures.append("%s: next run left %s (%r)" % (tag, artifacts(work),
                                                                   r2.stderr))
                outcomes["new"] += 1
                checks += 1
                shutil.rmtree(work)
                continue
            expected_rc = {"kill": -9, "exit": 86, "fail": 71}[mode]
            if r.returncode != expected_rc:
                failures.append("%s: exit %d, expected %d (%r)" % (tag, r.returncode,
                                                                   expected_rc, r.stderr))
            # Per-file atomicity right after the stop.
            now = files_only(snapshot(work))
            for rel in set(old_files) | set(new_files) | set(now):
                if now.get(rel) not in (old_files.get(rel), new_files.get(rel)):
                    failures.append("%s: %s is neither old nor new: %r" % (tag, rel,
                                                                            now.get(rel)))
            if mode == "fail":
                if now != old_files or artifacts(work):
                    failures.append("%s: rollback left %s / %s" % (
                        tag, sorted(set(now.items()) ^ set(old_files.items()))[:3],
                        artifacts(work)))
                outcomes["old"] += 1
            else:
                # The next run finishes or undoes the interrupted change.
                r2 = run(binary, work, probe)
                if r2.returncode != 0:
                    failures.append("%s: next run failed: %r" % (tag, r2.stderr))
                for p in probe_files:
                    if os.path.exists(os.path.join(work, p)):
                        os.unlink(os.path.join(work, p))
                after = files_only(snapshot(work))
                left = artifacts(work)
                if left:
                    failures.append("%s: temporary files left after the next run: %s" %
                                    (tag, left))
                if after == old_files:
                    outcomes["old"] += 1
                    # Directories created by the interrupted run must be gone too.
                    dirs = {k for k, v in snapshot(work).items() if v[0] == "d"}
                    if dirs != {k for k, v in old.items() if v[0] == "d"}:
                        failures.append("%s: directories left: %s" % (tag, sorted(dirs)))
                elif after == new_files:
                    outcomes["new"] += 1
                else:
                    failures.append("%s: tree is neither old nor new after recovery" % tag)
            checks += 1
            shutil.rmtree(work)
        print("%s %s: %d steps, outcomes %s" % (name, mode, n - 1, outcomes))
        if total is None:
            total = n - 1
        if n - 1 < 10:
            failures.append("%s %s: suspiciously few steps (%d)" % (name, mode, n - 1))
        if outcomes["old"] == 0 or outcomes["new"] == 0:
            failures.append("%s %s: expected both old and new outcomes" % (name, mode))
    return checks


WARNING = re.compile(rb"csb-applypatch: warning: an interrupted run left a transaction pending "
                     rb"\((\S+)\.j\): the run rolls it (back|forward) first; this dry run shows "
                     rb"the outcome after that\n")


def run_retries(binary, base, name, files, patch, env, failures):
    """Kills the patch at every step, then tries it again: a dry run, then
    the run it predicts (see the module's docstring). Returns the checks."""
    ref = os.path.join(base, "%s-retry-ref" % name)
    os.makedirs(ref)
    make_tree(ref, files)
    run(binary, ref, patch, env)
    new_files = files_only(snapshot(ref))
    outcomes = {"back": 0, "forward": 0}
    n = 0
    while n < 500:
        n += 1
        work = os.path.join(base, "%s-retry-%d" % (name, n))
        os.makedirs(work)
        make_tree(work, files)
        r = run(binary, work, patch, dict(env, CSB_PATCH_FAULT_STEP=str(n),
                                          CSB_PATCH_FAULT_MODE="kill"))
        if r.returncode == 0:
            shutil.rmtree(work)
            break  # step n is past the last step
        tag = "%s killed at step %d, tried again" % (name, n)
        before = snapshot(work)
        journals = sorted(k for k in before if re.fullmatch(r"(.*/)?\.csb-applypatch-.*\.j", k))
        dry = run(binary, work, patch, env, options=["--dry-run"])
        if snapshot(work) != before:
            failures.append("%s: the dry run changed the tree" % tag)
        warned = WARNING.findall(dry.stderr)
        named = sorted(os.path.relpath(j.decode() + ".j", work) for j, _ in warned)
        if named != journals:
            failures.append("%s: the dry run named %s, the tree holds %s" % (tag, named, journals))
        for _, action in warned:
            outcomes[action.decode()] += 1
        real = run(binary, work, patch, env)
        # Each transaction the dry run named, the run recovers and says so.
        said = (dry.returncode, dry.stdout.replace(b"Dry run. Would update", b"Success. Updated"),
                WARNING.sub(lambda m: b"csb-applypatch: note: recovered an interrupted run "
                            b"(%s.j): rolled %s\n" % (m.group(1), m.group(2)), dry.stderr))
        if (real.returncode, real.stdout, real.stderr) != said:
            failures.append("%s: the dry run said %r, the run did %r" % (
                tag, said, (real.returncode, real.stdout, real.stderr)))
        rolled_forward = any(a == b"forward" for _, a in warned)
        if real.returncode != (65 if rolled_forward else 0) and journals:
            failures.append("%s: exit %d after a roll %s" % (
                tag, real.returncode, "forward" if rolled_forward else "back"))
        if files_only(snapshot(work)) != new_files or artifacts(work):
            failures.append("%s: the run left %s" % (tag, artifacts(work) or "another tree"))
        shutil.rmtree(work)
    print("%s retried: %d steps, pending %s" % (name, n - 1, outcomes))
    if outcomes["back"] == 0 or outcomes["forward"] == 0:
        failures.append("%s retried: expected both roll-backs and roll-forwards" % name)
    return n - 1


# A racing process: after step N (anything the run creates, renames or
# removes comes after the plan checked the paths), the directory d, where
# the patch adds, updates, deletes and creates a subdirectory, is moved
# aside and replaced by a symlink to a directory outside the tree, with
# files of the same names. The run must work in the directory it checked
# (now d.orig) or fail, and never touch the outside one.
SWAP_OLD = {"d/a.txt": b"inside\n", "d/gone.txt": b"inside gone\n", "keep.txt": b"k\n"}
SWAP_PATCH = """*** Begin Patch
*** Update File: d/a.txt
@@
-inside
+changed
*** Delete File: d/gone.txt
*** Add File: d/new.txt
+new
*** Add File: d/sub/deep.txt
+deep
*** Update File: keep.txt
@@
-k
+K
*** End Patch
"""
SWAP_OUTSIDE = {"a.txt": b"outside\n", "gone.txt": b"outside gone\n"}


def run_swaps(binary, base, failures):
    checks = 0
    for n in range(1, 41):
        top = os.path.join(base, "swap-%d" % n)
        work, outside = os.path.join(top, "work"), os.path.join(top, "outside")
        for d, files in ((work, SWAP_OLD), (outside, SWAP_OUTSIDE)):
            for rel, data in files.items():
                os.makedirs(os.path.dirname(os.path.join(d, rel)), exist_ok=True)
                with open(os.path.join(d, rel), "wb") as f:
                    f.write(data)
        r = run(binary, work, SWAP_PATCH,
                {"CSB_PATCH_FAULT_STEP": str(n), "CSB_PATCH_FAULT_MODE": "swap",
                 "CSB_PATCH_FAULT_SWAP_DIR": os.path.join(work, "d"),
                 "CSB_PATCH_FAULT_SWAP_TO": outside})
        tag = "swap at step %d" % n
        if r.returncode not in (0, 71):
            failures.append("%s: exit %d (%r)" % (tag, r.returncode, r.stderr))
        got = {k: v[1] if v[0] == "f" else v for k, v in snapshot(outside).items()}
        if got != SWAP_OUTSIDE:
            failures.append("%s: the outside directory changed: %s" % (tag, sorted(got)))
        checks += 1
        shutil.rmtree(top)
    print("swap: 40 steps")
    return checks


# A racing process during recovery: a committed journal (as a crash leaves
# it, with a pointer in d) deletes d/victim.txt; once the recovery has
# checked its paths (its step 1), d is moved aside and replaced by a
# symlink to a directory outside the tree holding a victim.txt of its own,
# which must not be removed.
RECOVERY_ID = "7-00000000000000aa"


def run_recovery_swap(binary, base, failures):
    top = os.path.join(base, "recovery-swap")
    work, outside = os.path.join(top, "work"), os.path.join(top, "outside")
    d = os.path.join(work, "d")
    os.makedirs(d)
    os.makedirs(outside)
    for where in (d, outside):
        with open(os.path.join(where, "victim.txt"), "wb") as f:
            f.write(b"keep\n")
    journal = os.path.join(work, ".csb-applypatch-%s.j" % RECOVERY_ID)
    pointer = os.path.join(d, ".csb-applypatch-%s.p" % RECOVERY_ID)
    os.symlink(journal, pointer)
    victim = os.path.join(d, "victim.txt")
    with open(journal, "w") as f:
        f.write("csb-applypatch-journal 1\nid %s\nP %d:%s\nX 0 1 %d:%s\nprepared\ncommit\n" %
                (RECOVERY_ID, len(pointer), pointer, len(victim), victim))
    r = run(binary, work, "*** Begin Patch\n*** Add File: new.txt\n+n\n*** End Patch\n",
            {"CSB_PATCH_FAULT_RECOVERY_STEP": "1", "CSB_PATCH_FAULT_MODE": "swap",
             "CSB_PATCH_FAULT_SWAP_DIR": d, "CSB_PATCH_FAULT_SWAP_TO": outside})
    if r.returncode not in (0, 71):
        failures.append("recovery swap: exit %d (%r)" % (r.returncode, r.stderr))
    if sorted(os.listdir(outside)) != ["victim.txt"]:
        failures.append("recovery swap: the outside directory changed: %s" %
                        sorted(os.listdir(outside)))
    print("recovery swap: exit %d" % r.returncode)
    shutil.rmtree(top)
    return 1


# A second patch over the same directories as PATCH (the top directory,
# which holds the first run's journal, and sub/, which holds a pointer to
# it), applied while the first run is stopped.
OTHER_PATCH = """*** Begin Patch
*** Update File: keep.txt
@@
-untouched
+touched by the other run
*** Add File: sub/other.txt
+other
*** End Patch
"""


def run_concurrent(binary, base, failures):
    checks = 0
    ref = os.path.join(base, "concurrent-ref")
    os.makedirs(ref)
    make_tree(ref)
    for p in (PATCH, OTHER_PATCH):
        r = run(binary, ref, p)
        if r.returncode != 0:
            failures.append("concurrent: reference run failed: %r" % r.stderr)
            return checks
    want = files_only(snapshot(ref))
    n = 0
    while True:
        n += 1
        tag = "stopped before step %d" % n
        work = os.path.join(base, "concurrent-%d" % n)
        os.makedirs(work)
        make_tree(work)
        env = dict(os.environ, CSB_PATCH_FAULT_STEP=str(n), CSB_PATCH_FAULT_MODE="stop",
                   CSB_PATCH_FAULT_NOSYNC="1")
        with tempfile.TemporaryFile() as err:
            proc = subprocess.Popen([binary, PATCH], cwd=work, env=env,
                                    stdout=subprocess.DEVNULL, stderr=err)
            _, status = os.waitpid(proc.pid, os.WUNTRACED)
            if not os.WIFSTOPPED(status):
                proc.returncode = os.waitstatus_to_exitcode(status)
                break  # the run ended before step n: every step was covered
            # The other run must leave the stopped run's files alone: a
            # pointer it removed would hide the stopped run's journal from
            # the recovery of that directory after a crash, a temporary
            # file would fail the run.
            before = set(artifacts(work))
            other = run(binary, work, OTHER_PATCH)
            gone = before - set(artifacts(work))
            if gone:
                failures.append("%s: the other run removed %s" % (tag, sorted(gone)))
            os.kill(proc.pid, signal.SIGCONT)
            _, status = os.waitpid(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            err.seek(0)
            first_err = err.read()
        if other.returncode != 0:
            failures.append("%s: the other run exited %d (%r)" % (tag, other.returncode,
                                                                   other.stderr))
        if proc.returncode != 0:
            failures.append("%s: exit %d (%r)" % (tag, proc.returncode, first_err))
        got = files_only(snapshot(work))
        if proc.returncode == 0 and other.returncode == 0 and got != want:
            diff = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
            failures.append("%s: tree differs at %s" % (tag, diff))
        if artifacts(work):
            failures.append("%s: leftovers %s" % (tag, artifacts(work)))
        checks += 1
        shutil.rmtree(work)
    print("concurrent: %d steps" % (n - 1))
    return checks


# Files of PATCH written in place (same size) by another process while the
# run is stopped, and how the run names the file when it fails.
# (a path that is not in OLD: a file made there, where the patch adds one)
IN_PLACE = (("a.txt", "write"), ("gone.txt", "delete"), ("mover.txt", "delete"),
            ("added.txt", "write"))


def run_written_in_place(binary, base, failures):
    checks = 0
    ref = os.path.join(base, "inplace-ref")
    os.makedirs(ref)
    make_tree(ref)
    r = run(binary, ref, PATCH)
    if r.returncode != 0:
        failures.append("in place: reference run failed: %r" % r.stderr)
        return checks
    new = files_only(snapshot(ref))
    orig = os.path.join(base, "inplace-old")
    os.makedirs(orig)
    make_tree(orig)
    old = files_only(snapshot(orig))
    for rel, verb in IN_PLACE:
        n = 0
        committed = None  # the first step at which the run succeeded
        while True:
            n += 1
            tag = "%s written in place before step %d" % (rel, n)
            work = os.path.join(base, "inplace-%s-%d" % (rel.replace("/", "_"), n))
            os.makedirs(work)
            make_tree(work)
            made, made_mode = rel not in OLD, None
            ino = None if made else os.stat(os.path.join(work, rel)).st_ino
            env = dict(os.environ, CSB_PATCH_FAULT_STEP=str(n), CSB_PATCH_FAULT_MODE="stop",
                       CSB_PATCH_FAULT_NOSYNC="1")
            proc = subprocess.Popen([binary, PATCH], cwd=work, env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            _, status = os.waitpid(proc.pid, os.WUNTRACED)
            if not os.WIFSTOPPED(status):
                proc.communicate()
                shutil.rmtree(work)
                break  # the run ended before step n: every step was covered
            # A later tick of the clock than the plan's read, as a real
            # concurrent writer's.
            time.sleep(0.02)
            written = b"MADE ELSEWHERE\n" if made else OLD[rel].upper()
            target = os.path.join(work, rel)
            if made and not os.path.lexists(target):
                # (past the commit point the run's file may be there)
                with open(target, "xb") as f:
                    f.write(written)
                made_mode = stat.S_IMODE(os.stat(target).st_mode)
            elif not made and os.path.exists(target) and os.stat(target).st_ino == ino:
                # (past the commit point the file may be gone or replaced)
                with open(target, "r+b") as f:
                    f.write(written)
            os.kill(proc.pid, signal.SIGCONT)
            out, err = proc.communicate()
            got = files_only(snapshot(work))
            if proc.returncode == 71:
                want_err = ("csb-applypatch: error: Failed to %s file %s: Stale file handle "
                            "(os error 116)\n" % (verb, os.path.join(work, rel))).encode()
                if committed is not None:
                    failures.append("%s: failed after the run succeeded at step %d"
                                    % (tag, committed))
                if out != b"" or err != want_err:
                    failures.append("%s: stdout %r, stderr %r, expected %r"
                                    % (tag, out, err, want_err))
                want = dict(old)
                want[rel] = ("f", written, made_mode if made else old[rel][2])
                if got != want:
                    diff = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
                    failures.append("%s: tree differs at %s" % (tag, diff))
            elif proc.returncode == 0:
                if committed is None:
                    committed = n
                if got != new:
                    failures.append("%s: exit 0 but not the new tree" % tag)
            else:
                failures.append("%s: exit %d (%r)" % (tag, proc.returncode, err))
            if artifacts(work):
                failures.append("%s: leftovers %s" % (tag, artifacts(work)))
            checks += 1
            shutil.rmtree(work)
        # Step 1 comes after the plan read the files, the commit point
        # after several steps (journal, temporary files, syncs).
        if committed is not None and committed <= 1:
            failures.append("in place %s: applied although written before step %d"
                            % (rel, committed))
        if committed is None:
            failures.append("in place %s: never applied" % rel)
        print("in place %s: detected up to step %s of %d" % (rel, committed and committed - 1,
                                                            n - 1))
    return checks


# The workspace is writable but for ro/, which is read-only but for ro/a/
# and ro/c/d/ (missing: a patch creates them) and ro/alone.txt (a file
# granted alone).
PLACEMENT_OLD = {"x.txt": b"x\n", "ro/r.txt": b"r\n", "ro/alone.txt": b"alone\n"}
PLACEMENT_PATCHES = (
    # only below ro/: the journal cannot go in ro/
    ("below", "*** Begin Patch\n*** Add File: ro/a/f.txt\n+f\n*** End Patch\n"),
    # and in the workspace: the journal goes there, no pointer in ro/
    ("both", "*** Begin Patch\n*** Add File: ro/a/f.txt\n+f\n*** Update File: x.txt\n@@\n"
             "-x\n+X\n*** End Patch\n"),
)


def placement_policy(top, work):
    path = os.path.join(top, "policy.json")
    ro = os.path.join(work, "ro")
    entries = [("/", "read", ":root"), (work, "write", ":workspace_roots"), (ro, "read", "test"),
               (os.path.join(ro, "a"), "write", "test"),
               (os.path.join(ro, "c", "d"), "write", "test"),
               (os.path.join(ro, "alone.txt"), "write", "test")]
    with open(path, "w") as f:
        json.dump(policy_gen.doc(work, entries, profile=(":workspace", "builtin"),
                                 summary="workspace-write [workdir]",
                                 projection_error="test policy"), f, indent=2, sort_keys=True)
        f.write("\n")
    return path


def make_placement_tree(work):
    for rel, data in PLACEMENT_OLD.items():
        os.makedirs(os.path.dirname(os.path.join(work, rel)), exist_ok=True)
        with open(os.path.join(work, rel), "wb") as f:
            f.write(data)


PLACEMENT_PROBE = ("*** Begin Patch\n*** Add File: .probe\n+p\n*** Add File: ro/a/.probe\n+p\n"
                   "*** End Patch\n")


def run_placement(binary, base, failures):
    checks = 0
    mask = os.umask(0)
    os.umask(mask)
    for name, patch in PLACEMENT_PATCHES:
        n = 0
        while True:
            n += 1
            top = os.path.join(base, "placement-%s-%d" % (name, n))
            work = os.path.join(top, "work")
            make_placement_tree(work)
            policy = placement_policy(top, work)
            old = files_only(snapshot(work))
            r = run(binary, work, patch, {"CSB_PATCH_FAULT_STEP": str(n),
                                          "CSB_PATCH_FAULT_MODE": "kill"}, policy)
            tag = "placement %s step %d" % (name, n)
            in_ro = [a for a in artifacts(work) if os.path.dirname(a) == "ro"]
            if in_ro:
                failures.append("%s: wrote %s, which the policy keeps read-only" % (tag, in_ro))
            checks += 1
            if r.returncode == 0:
                shutil.rmtree(top)
                break
            if r.returncode != -9:
                failures.append("%s: exit %d (%r)" % (tag, r.returncode, r.stderr))
                shutil.rmtree(top)
                break
            # The next run under the same policy, in the same directories,
            # finishes or undoes it.
            r2 = run(binary, work, PLACEMENT_PROBE, None, policy)
            if r2.returncode != 0:
                failures.append("%s: next run failed: %r" % (tag, r2.stderr))
            for probe in (".probe", "ro/a/.probe"):
                if os.path.exists(os.path.join(work, probe)):
                    os.unlink(os.path.join(work, probe))
            after = files_only(snapshot(work))
            new = dict(old, **{"ro/a/f.txt": ("f", b"f\n", 0o666 & ~mask)})
            if name == "both":
                new["x.txt"] = ("f", b"X\n", old["x.txt"][2])
            if artifacts(work) or after not in (old, new):
                failures.append("%s: after the next run: %s / %s" % (
                    tag, artifacts(work), sorted(set(after.items()) ^ set(old.items()))[:3]))
            shutil.rmtree(top)
        print("placement %s: %d steps" % (name, n - 1))
        if n < 5:
            failures.append("placement %s: suspiciously few steps (%d)" % (name, n - 1))
    # Refused with nothing written: a temporary file next to a file granted
    # alone, a directory created in a read-only one.
    for what, patch, pattern in (
            ("alone", "*** Begin Patch\n*** Update File: ro/alone.txt\n@@\n-alone\n+ALONE\n"
                      "*** End Patch\n",
             r"csb-applypatch: error: refusing to write (\S+)/work/ro/alone\.txt "
             r"\(\1/work/ro/\.csb-applypatch-[0-9a-f]+-[0-9a-f]{16}\.t0\): "
             r"read: \1/work/ro \(entry from test\)\n"),
            ("created", "*** Begin Patch\n*** Add File: ro/c/d/f.txt\n+f\n*** End Patch\n",
             r"csb-applypatch: error: refusing to write (\S+)/work/ro/c: "
             r"read: \1/work/ro \(entry from test\)\n")):
        top = os.path.join(base, "placement-%s" % what)
        work = os.path.join(top, "work")
        make_placement_tree(work)
        policy = placement_policy(top, work)
        before = snapshot(work)
        r = run(binary, work, patch, None, policy)
        tag = "placement %s" % what
        if r.returncode != 77 or not re.fullmatch(pattern, r.stderr.decode()):
            failures.append("%s: exit %d, %r" % (tag, r.returncode, r.stderr))
        if snapshot(work) != before:
            failures.append("%s: the tree changed" % tag)
        checks += 1
        shutil.rmtree(top)
    return checks


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    args = ap.parse_args()
    binary = os.path.abspath(args.bin)
    base = tempfile.mkdtemp(prefix="apfi-", dir=os.environ.get("TEST_TMPDIR"))
    failures = []
    checks = 0
    try:
        for name, files, patch, probe, env in SCENARIOS:
            checks += run_scenario(binary, base, name, files, patch, probe, env, failures)
            checks += run_retries(binary, base, name, files, patch, env, failures)
        checks += run_swaps(binary, base, failures)
        checks += run_recovery_swap(binary, base, failures)
        checks += run_concurrent(binary, base, failures)
        checks += run_written_in_place(binary, base, failures)
        checks += run_placement(binary, base, failures)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    for f in failures[:40]:
        print("FAIL " + f)
    print("%d passed, %d failed" % (checks - min(len(failures), checks), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Golden test runner for csb-seatbelt.

Each case is one file, cases/NAME.case:

    # free comment lines
    args: --assume-macos-paths         (shell-quoted; $ROOT is the case's tree)
    env: HTTP_PROXY=http://127.0.0.1:3128
    mode: profile                      (profile | run | full; default profile)
    sigchld: ignore                    (csb-seatbelt starts with SIGCHLD ignored)
    cmd: cmd arg                       (the command after --; profile mode
                                        defaults to `cmd arg`, `-` means none;
                                        `\\xHH` in a quoted word is that byte)
    policy: arg                        (how the policy is passed: `arg` --policy FILE
                                        (default), `stdin` --policy - with the
                                        document on stdin, `implicit` no --policy
                                        and the document on stdin, `none` no
                                        --policy and stdin a terminal, `empty` no
                                        --policy and stdin empty; stdin is empty
                                        unless the document is on it)
    --- dir repo/.git                  (setup: a directory,
    --- file repo/.git/HEAD            a file with the following lines,
    --- rawfile wt/.git                the same without a final newline,
    --- exec bin/fake                  an executable file,
    --- symlink repo/link -> ../x      a symlink)
    --- policy                         (the csb.policy/v1 document; $ROOT allowed)
    {...}
    --- exit 0
    --- profile                        (stdout of --print-profile)
    --- argv                           (--print-argv -- cmd arg, one JSON string
                                        per line, the profile shown as $PROFILE)
    --- stdout                         (run mode)
    --- stderr                         (stdout/stderr: missing means empty)

Profile mode runs `csb-seatbelt --policy P ARGS --print-profile` and, when
that succeeds, `--print-argv ARGS -- cmd arg`; the argv must carry exactly
the printed profile and both runs must print the same stderr. Every
generated profile is also checked with sbpl_check (balanced, known
operations and filters, regexes compile, parameters defined and used).
Run mode runs `csb-seatbelt --policy P ARGS -- CMD` and compares exit,
stdout and stderr. Full mode runs `csb-seatbelt --policy P ARGS` with its
standard output on /dev/full and compares exit and stderr.

The tree lives in a fresh directory ($ROOT, symlinks resolved) under
$TEST_TMPDIR (or ~/.cache/csb-seatbelt-golden), never below /tmp, /var or
/etc, whose paths --assume-macos-paths rewrites. The process gets only
PATH=/usr/bin:/bin plus the case's env. Outputs are compared after
replacing the tree's path (and its regex-escaped form) with $ROOT, the
regex spelling it in every way a case-insensitive volume takes for it
(below a readable or writable root `/`) with $ROOT_FOLDED, and the
unlink denies of the directories above the tree (deny-glob ancestors, which
depend on where the tree lives) with one placeholder comment.

    run_golden.py --bin PATH --checker PATH [--cases DIR] [--update] [NAME...]

--update rewrites the result sections from the actual results (review the
diff by hand: goldens must encode the reference semantics).
"""
import argparse
import json
import os
import pty
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import golden  # noqa: E402

RESULT_SECTIONS = ("exit", "profile", "argv", "stdout", "stderr")
HEADER = {"args": "", "env": "", "mode": "profile", "cmd": "", "policy": "arg", "sigchld": ""}
DEFAULT_CMD = ["cmd", "arg"]


def words(text):
    """shlex words, `\\xHH` (kept by single quotes) made the byte HH: an
    argument that is not UTF-8 goes to the tool as those bytes."""
    def raw(w):
        b = re.sub(rb"\\x([0-9a-fA-F]{2})", lambda m: bytes([int(m.group(1), 16)]), w.encode())
        return os.fsdecode(b)
    return [raw(w) for w in shlex.split(text)]


def ere_escape(s):
    return re.sub(r"([.\[\]{}()*+?^$|\\])", r"\\\1", s)


# libs/sbpl/profile.c, fold_name_ere: the spellings a case-insensitive
# volume takes for an ASCII name, as an ERE.
FOLDED_RUNS = (("ffi", "\ufb03"), ("ffl", "\ufb04"), ("ff", "\ufb00"), ("fi", "\ufb01"),
               ("fl", "\ufb02"), ("ss", "\u00df|\u1e9e"), ("st", "\ufb05|\ufb06"))
FOLDED_NAME_MAX = 4096


def fold_char(c):
    c = c.lower()
    special = {"s": "(s|S|\u017f)", "k": "(k|K|\u212a)", ";": "(;|\u037e)", "`": "(`|\u1fef)"}
    if c in special:
        return special[c]
    if "a" <= c <= "z":
        return "[%s%s]" % (c, c.upper())
    return ere_escape(c)


def fold_from(name):
    if not name:
        return ""
    runs = [(n, alt) for n, alt in FOLDED_RUNS if name.lower().startswith(n)]
    if not runs:
        return fold_char(name[0]) + fold_from(name[1:])
    out = "(" + fold_char(name[0]) + fold_from(name[1:])
    for n, alt in runs:
        out += "|(%s)" % alt + fold_from(name[len(n):])
    return out + ")"


def folded_path(path):
    """`path` with every component in every spelling, as the profile's
    regexes spell a path below the readable or writable root `/`."""
    parts = []
    for c in path.strip("/").split("/"):
        f = fold_from(c) if c.isascii() else None
        parts.append(f if f is not None and len(f.encode()) <= FOLDED_NAME_MAX else ere_escape(c))
    return "/" + "/".join(parts)


ABOVE_ROOT = ";; (directories above $ROOT: unlink denied)\n"


def normalise(text, root):
    # Deny-glob ancestors above the tree depend on where the tree lives:
    # one placeholder line stands for all of them.
    above = set()
    d = os.path.dirname(root)
    while d != "/":
        for form in (ere_escape(d), folded_path(d)):
            above.add("(deny file-write-unlink (require-all (vnode-type DIRECTORY) (regex #\"^%s$\")))\n"
                      % form)
        d = os.path.dirname(d)
    lines, placed = [], False
    for line in text.splitlines(True):
        if line in above:
            if not placed:
                lines.append(ABOVE_ROOT)
                placed = True
            continue
        lines.append(line)
    text = "".join(lines)
    text = text.replace(folded_path(root), "$ROOT_FOLDED")
    text = text.replace(ere_escape(root), "$ROOT")
    return text.replace(root, "$ROOT")


def build_tree(root, sections):
    """Builds the setup sections; returns the policy ($ROOT substituted)."""
    for marker, _ in sections:
        word = marker.partition(" ")[0]
        if word not in RESULT_SECTIONS + golden.SETUP_WORDS + ("policy",):
            raise ValueError("unknown section `%s`" % word)
    golden.build_tree(root, sections, lambda s: s.replace("$ROOT", root))
    policy = golden.section_text(sections, "policy")
    if policy is None:
        raise ValueError("case has no `--- policy` section")
    return policy.replace("$ROOT", root)


def tree_base():
    """The first writable scratch directory outside /tmp, /var and /etc:
    $TEST_TMPDIR (unless Bazel's output base is itself below /tmp), a
    private one in /dev/shm, ~/.cache/csb-seatbelt-golden."""
    shm = "/dev/shm/csb-seatbelt-golden-%d" % os.getuid()
    for base in (os.environ.get("TEST_TMPDIR"), shm,
                 os.path.expanduser("~/.cache/csb-seatbelt-golden")):
        if not base:
            continue
        try:
            os.makedirs(base, mode=0o700, exist_ok=True)
            real = os.path.realpath(base)
            st = os.lstat(real)
            if st.st_uid != os.getuid() or not os.access(real, os.W_OK):
                continue
        except OSError:
            continue
        if not re.match(r"^/(tmp|var|etc|private)(/|$)", real):
            return real
    sys.exit("run_golden.py: no writable scratch directory outside /tmp, /var and /etc")


def ignore_sigchld():
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)


def run(cmd, env, cwd, stdin=b"", preexec=None, stdout=subprocess.PIPE):
    """Runs cmd with `stdin` (bytes) as its standard input, or a terminal
    for stdin="tty"; `preexec` runs in the child before the exec; `stdout`
    as for subprocess.run (its text is "" unless a pipe)."""
    tty = None
    if stdin == "tty":
        master, slave = pty.openpty()
        tty, stdin = slave, None
    try:
        p = subprocess.run(cmd, env=env, cwd=cwd, input=stdin, stdin=tty, stdout=stdout,
                           stderr=subprocess.PIPE, timeout=60, preexec_fn=preexec)
    finally:
        if tty is not None:
            os.close(master)
            os.close(slave)
    return p.returncode, (p.stdout or b"").decode("utf-8", "surrogateescape"), \
        p.stderr.decode("utf-8", "surrogateescape")


POLICY_MODES = ("arg", "stdin", "implicit", "none", "empty")


def policy_args(mode, ppath, policy):
    """The --policy arguments and the standard input for a `policy:` mode."""
    if mode not in POLICY_MODES:
        raise ValueError("unknown policy mode `%s`" % mode)
    args = {"arg": ["--policy", ppath], "stdin": ["--policy", "-"]}.get(mode, [])
    stdin = {"stdin": policy.encode(), "implicit": policy.encode(), "none": "tty"}.get(mode, b"")
    return args, stdin


def run_case(binary, checker, path):
    with open(path, encoding="utf-8") as f:
        header, head, sections = golden.parse_case(f.read(), HEADER)
    root = tempfile.mkdtemp(prefix="sb", dir=tree_base())
    root = os.path.realpath(root)
    problems = []
    try:
        policy = build_tree(root, sections)
        ppath = os.path.join(root, "policy.json")
        with open(ppath, "w", encoding="utf-8") as f:
            f.write(policy)
        env = {"PATH": "/usr/bin:/bin"}
        for item in shlex.split(header["env"].replace("$ROOT", root)):
            k, _, v = item.partition("=")
            env[k] = v
        args = shlex.split(header["args"].replace("$ROOT", root))
        pol, stdin = policy_args(header["policy"], ppath, policy)
        got = {}
        if header["mode"] == "run":
            cmd = words(header["cmd"].replace("$ROOT", root))
            if header["sigchld"] not in ("", "ignore"):
                raise ValueError("unknown sigchld `%s`" % header["sigchld"])
            preexec = ignore_sigchld if header["sigchld"] == "ignore" else None
            code, out, err = run([binary] + pol + args + ["--"] + cmd, env, root, stdin, preexec)
            got = {"exit": str(code), "stdout": normalise(out, root),
                   "stderr": normalise(err, root)}
        elif header["mode"] == "profile":
            code, out, err = run([binary] + pol + args + ["--print-profile"], env, root, stdin)
            got["exit"] = str(code)
            got["stderr"] = normalise(err, root)
            if code == 0:
                got["profile"] = normalise(out, root)
                cmd = words(header["cmd"]) or DEFAULT_CMD
                tail = [] if cmd == ["-"] else ["--"] + cmd
                code2, out2, err2 = run([binary] + pol + args + ["--print-argv"] + tail, env, root, stdin)
                if code2 != 0 or err2 != err:
                    problems.append("--print-argv: exit %d, stderr %r (want 0, %r)" % (code2, err2, err))
                argv = json.loads(out2) if code2 == 0 else []
                if len(argv) < 3 or argv[2] != out:
                    problems.append("--print-argv does not carry the printed profile")
                else:
                    argv[2] = "$PROFILE"
                got["argv"] = normalise("".join(json.dumps(a, ensure_ascii=False) + "\n"
                                                for a in argv), root)
                params = [a[2:] for a in argv if a.startswith("-D")]
                pfile = os.path.join(root, "profile.sb")
                with open(pfile, "w", encoding="utf-8", errors="surrogateescape") as f:
                    f.write(out)
                c, cout, cerr = run([checker, pfile] + params, os.environ.copy(), root)
                if c != 0:
                    problems.append("sbpl_check: " + (cerr or cout).strip())
            elif out:
                problems.append("failure printed on stdout: %r" % out)
        elif header["mode"] == "full":
            with open("/dev/full", "wb") as full:
                code, _, err = run([binary] + pol + args, env, root, stdin, stdout=full)
            got = {"exit": str(code), "stderr": normalise(err, root)}
        else:
            raise ValueError("unknown mode `%s`" % header["mode"])
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if "exit" in got:
        got["exit"] += "\n"
    return head, sections, got, problems


def write_case(path, head, sections, got):
    keep = [(m, b) for m, b in sections if m.partition(" ")[0] not in RESULT_SECTIONS]
    results = [(name, got[name]) for name in RESULT_SECTIONS
               if name in got and not (name in ("stdout", "stderr") and got[name] == "")]
    with open(path, "w", encoding="utf-8") as f:
        f.write(golden.render_case(head, keep, results))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--checker", required=True)
    ap.add_argument("--cases", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases"))
    ap.add_argument("--update", action="store_true")
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()

    def one(name):
        path = os.path.join(a.cases, name + ".case")
        head, sections, got, problems = run_case(a.bin, a.checker, path)
        if a.update:
            write_case(path, head, sections, got)
            return problems
        want = {k: golden.section_text(sections, k) for k in RESULT_SECTIONS}
        want = {k: v for k, v in want.items() if v is not None}
        return problems + golden.compare(want, got, RESULT_SECTIONS)

    return golden.run_suite(golden.case_names(a.cases, a.names), one)


if __name__ == "__main__":
    sys.exit(main())

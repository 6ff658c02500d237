#!/usr/bin/env python3
"""Golden test runner for csb-seatbelt.

Each case is one file, cases/NAME.case:

    # free comment lines
    args: --assume-macos-paths         (shell-quoted; $ROOT is the case's tree)
    env: HTTP_PROXY=http://127.0.0.1:3128
    mode: profile                      (profile | run; default profile)
    cmd: cmd arg                       (the command after --; profile mode
                                        defaults to `cmd arg`, `-` means none)
    policy: none                       (do not pass --policy; default: pass it)
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
stdout and stderr.

The tree lives in a fresh directory ($ROOT, symlinks resolved) under
$TEST_TMPDIR (or ~/.cache/csb-seatbelt-golden), never below /tmp, /var or
/etc, whose paths --assume-macos-paths rewrites. The process gets only
PATH=/usr/bin:/bin plus the case's env. Outputs are compared after
replacing the tree's path (and its regex-escaped form) with $ROOT, and the
unlink denies of the directories above the tree (deny-glob ancestors, which
depend on where the tree lives) with one placeholder comment.

    run_golden.py --bin PATH --checker PATH [--cases DIR] [--update] [NAME...]

--update rewrites the result sections from the actual results (review the
diff by hand: goldens must encode the reference semantics).
"""
import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

RESULT_SECTIONS = ("exit", "profile", "argv", "stdout", "stderr")
DEFAULT_CMD = ["cmd", "arg"]


def parse_case(text):
    header = {"args": "", "env": "", "mode": "profile", "cmd": "", "policy": "arg"}
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    i = 0
    head = []
    while i < len(lines) and not lines[i].startswith("--- "):
        line = lines[i]
        head.append(line)
        if not line.startswith("#") and ":" in line:
            key, val = line.split(":", 1)
            if key.strip() in header:
                header[key.strip()] = val.strip()
        i += 1
    sections = []
    while i < len(lines):
        marker = lines[i][4:]
        i += 1
        body = []
        while i < len(lines) and not lines[i].startswith("--- "):
            body.append(lines[i])
            i += 1
        sections.append((marker, body))
    return header, head, sections


def ere_escape(s):
    return re.sub(r"([.\[\]{}()*+?^$|\\])", r"\\\1", s)


ABOVE_ROOT = ";; (directories above $ROOT: unlink denied)\n"


def normalise(text, root):
    # Deny-glob ancestors above the tree depend on where the tree lives:
    # one placeholder line stands for all of them.
    above = set()
    d = os.path.dirname(root)
    while d != "/":
        above.add("(deny file-write-unlink (require-all (vnode-type DIRECTORY) (regex #\"^%s$\")))\n"
                  % ere_escape(d))
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
    text = text.replace(ere_escape(root), "$ROOT")
    return text.replace(root, "$ROOT")


def build_tree(root, sections):
    policy = None
    for marker, body in sections:
        word, _, rest = marker.partition(" ")
        if word in RESULT_SECTIONS:
            continue
        if word == "policy":
            policy = "\n".join(body) + "\n"
            continue
        if word == "symlink":
            rel, _, target = rest.partition(" -> ")
            path = os.path.join(root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            os.symlink(target.replace("$ROOT", root), path)
            continue
        path = os.path.join(root, rest)
        if word == "dir":
            os.makedirs(path, exist_ok=True)
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        content = "\n".join(body)
        if word in ("file", "exec") and body:
            content += "\n"
        if word not in ("file", "rawfile", "exec"):
            raise ValueError("unknown section `%s`" % word)
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(content.replace("$ROOT", root))
        if word == "exec":
            os.chmod(path, 0o755)
    if policy is None:
        raise ValueError("case has no `--- policy` section")
    return policy.replace("$ROOT", root)


def tree_base():
    for base in (os.environ.get("TEST_TMPDIR"), os.path.expanduser("~/.cache/csb-seatbelt-golden")):
        if not base:
            continue
        os.makedirs(base, exist_ok=True)
        real = os.path.realpath(base)
        if not re.match(r"^/(tmp|var|etc|private)(/|$)", real):
            return real
    sys.exit("run_golden.py: no scratch directory outside /tmp, /var and /etc")


def run(cmd, env, cwd):
    p = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    return p.returncode, p.stdout.decode("utf-8", "surrogateescape"), \
        p.stderr.decode("utf-8", "surrogateescape")


def run_case(binary, checker, path):
    with open(path, encoding="utf-8") as f:
        header, head, sections = parse_case(f.read())
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
        pol = ["--policy", ppath] if header["policy"] == "arg" else []
        got = {}
        if header["mode"] == "run":
            cmd = shlex.split(header["cmd"].replace("$ROOT", root))
            code, out, err = run([binary] + pol + args + ["--"] + cmd, env, root)
            got = {"exit": str(code), "stdout": normalise(out, root),
                   "stderr": normalise(err, root)}
        elif header["mode"] == "profile":
            code, out, err = run([binary] + pol + args + ["--print-profile"], env, root)
            got["exit"] = str(code)
            got["stderr"] = normalise(err, root)
            if code == 0:
                got["profile"] = normalise(out, root)
                cmd = shlex.split(header["cmd"]) or DEFAULT_CMD
                tail = [] if cmd == ["-"] else ["--"] + cmd
                code2, out2, err2 = run([binary] + pol + args + ["--print-argv"] + tail, env, root)
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
        else:
            raise ValueError("unknown mode `%s`" % header["mode"])
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return head, sections, got, problems


def section_text(sections, name):
    for marker, body in sections:
        if marker == name:
            return "\n".join(body) + ("\n" if body else "")
    return None


def write_case(path, head, sections, got):
    out = list(head)
    for marker, body in sections:
        if marker.partition(" ")[0] in RESULT_SECTIONS:
            continue
        out.append("--- " + marker)
        out.extend(body)
    for name in RESULT_SECTIONS:
        if name not in got:
            continue
        if name in ("stdout", "stderr") and got[name] == "":
            continue
        out.append("--- " + name)
        text = got[name]
        if name == "exit":
            text += "\n"
        out.extend(text[:-1].split("\n") if text.endswith("\n") else text.split("\n"))
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--checker", required=True)
    ap.add_argument("--cases", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases"))
    ap.add_argument("--update", action="store_true")
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    names = sorted(n for n in os.listdir(a.cases) if n.endswith(".case"))
    if a.names:
        names = [n for n in names if n[:-5] in a.names or n in a.names]
    failed = 0
    for name in names:
        path = os.path.join(a.cases, name)
        try:
            head, sections, got, problems = run_case(a.bin, a.checker, path)
        except Exception as e:  # a broken case is a failure, not a crash
            print("FAIL %s: %s" % (name, e))
            failed += 1
            continue
        if a.update:
            write_case(path, head, sections, got)
        diffs = []
        for key in RESULT_SECTIONS:
            want = section_text(sections, key)
            have = got.get(key)
            if key == "exit" and have is not None:
                have += "\n"
            if key in ("stdout", "stderr") and want is None and have == "":
                continue
            if want != have and not a.update:
                diffs.append("%s:\n--- want\n%s--- got\n%s" % (key, want, have))
        if problems or diffs:
            failed += 1
            print("FAIL %s" % name)
            for p in problems:
                print("  " + p)
            for d in diffs:
                print(d)
        else:
            print("ok   %s" % name)
    print("%d cases, %d failed" % (len(names), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

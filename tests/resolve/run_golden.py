#!/usr/bin/env python3
"""Golden test runner for csb-resolve.

Each case is one file, cases/NAME.case:

    # free comment lines
    args: -P dev --explain            (shell-quoted; $ROOT is the case's tree)
    env: TMPDIR=$ROOT/tmp CODEX_HOME=$ROOT/codex
    cwd: repo                         (relative to $ROOT; default "repo")
    --- file home/.csb/config.toml    (a file and its content, up to the next ---)
    default_permissions = ":workspace"
    --- dir repo/.git
    --- symlink repo/.codex -> ../decoy
    --- exit 0
    --- stdout
    ...expected standard output...
    --- stderr
    ...expected standard error...

The tree is built in a fresh temporary directory under /var/tmp ($ROOT). The process runs
with HOME=$ROOT/home, no CSB_HOME/CODEX_HOME/TMPDIR unless `env:` sets them,
in `cwd:`, and with `--system-config $ROOT/etc/csb/config.toml` and
`--requirements` ($ROOT/etc/csb/requirements.toml when the case has one,
else /dev/null) unless the case passes those options itself, so the real
/etc is never read. Outputs are compared exactly after replacing the tree's
path with $ROOT. A missing `--- stderr` means empty stderr.

    run_golden.py --bin PATH [--cases DIR] [--update] [NAME...]

--update rewrites the exit/stdout/stderr sections from the actual results
(review the diff: goldens must say what the reference specifies).
"""
import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

RESULT_SECTIONS = ("exit", "stdout", "stderr")


def parse_case(text):
    header = {"args": "", "env": "", "cwd": "repo"}
    setup = []  # (kind, path, arg, content)
    results = {}
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    i = 0
    head_lines = []
    while i < len(lines) and not lines[i].startswith("--- "):
        line = lines[i]
        head_lines.append(line)
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
    setup_text = []
    for marker, body in sections:
        word = marker.split(" ", 1)[0]
        rest = marker[len(word) + 1:]
        if word == "file":
            setup.append(("file", rest, None, "\n".join(body) + ("\n" if body else "")))
        elif word == "rawfile":  # no final newline
            setup.append(("file", rest, None, "\n".join(body)))
        elif word == "dir":
            setup.append(("dir", rest, None, None))
        elif word == "symlink":
            path, target = rest.split(" -> ", 1)
            setup.append(("symlink", path, target, None))
        elif word == "exit":
            results["exit"] = int(rest)
            continue
        elif word in ("stdout", "stderr"):
            results[word] = "\n".join(body) + ("\n" if body else "")
            continue
        else:
            raise ValueError("unknown section --- %s" % marker)
        setup_text.append("--- " + marker)
        setup_text.extend(body)
    return header, setup, results, head_lines, setup_text


def build_tree(root, setup):
    for kind, path, arg, content in setup:
        full = os.path.join(root, path.replace("$ROOT", root))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        if kind == "file":
            with open(full, "w", encoding="utf-8", newline="") as f:
                f.write(content.replace("$ROOT", root))
        elif kind == "dir":
            os.makedirs(full, exist_ok=True)
        elif kind == "symlink":
            os.symlink(arg.replace("$ROOT", root), full)


def run_case(binary, header, setup):
    # Always below /var/tmp: never below /tmp (`:slash_tmp` grants /tmp),
    # and at a fixed place so that sorted outputs (entries are sorted by
    # path) order $ROOT the same way against /tmp, /srv, /usr, ...
    base = "/var/tmp"
    root = os.path.realpath(tempfile.mkdtemp(prefix="resolve.", dir=base))
    try:
        os.makedirs(os.path.join(root, "home"))
        os.makedirs(os.path.join(root, "repo"))
        build_tree(root, setup)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": root + "/home"}
        for item in shlex.split(header["env"]):
            key, val = item.split("=", 1)
            if val == "<unset>":
                env.pop(key, None)
            else:
                env[key] = val.replace("$ROOT", root)
        for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if var in os.environ:
                env[var] = os.environ[var]
        args = [a.replace("$ROOT", root) for a in shlex.split(header["args"])]
        if "--system-config" not in args:
            args = ["--system-config", root + "/etc/csb/config.toml"] + args
        if "--requirements" not in args:
            req = root + "/etc/csb/requirements.toml"
            args = ["--requirements", req if os.path.exists(req) else "/dev/null"] + args
        cwd = os.path.join(root, header["cwd"].replace("$ROOT", root))
        proc = subprocess.run([binary] + args, cwd=cwd, env=env, capture_output=True, timeout=60)
        out = proc.stdout.decode("utf-8", "replace").replace(root, "$ROOT")
        err = proc.stderr.decode("utf-8", "replace").replace(root, "$ROOT")
        return {"exit": proc.returncode, "stdout": out, "stderr": err}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def render(head_lines, setup_text, results):
    out = list(head_lines) + list(setup_text)
    out.append("--- exit %d" % results["exit"])
    if results["stdout"]:
        out.append("--- stdout")
        out.extend(results["stdout"].rstrip("\n").split("\n") if results["stdout"] != "\n" else [""])
    if results["stderr"]:
        out.append("--- stderr")
        out.extend(results["stderr"].rstrip("\n").split("\n"))
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--cases", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases"))
    ap.add_argument("--update", action="store_true")
    ap.add_argument("names", nargs="*")
    opts = ap.parse_args()
    binary = os.path.abspath(opts.bin)
    names = sorted(n[:-5] for n in os.listdir(opts.cases) if n.endswith(".case"))
    if opts.names:
        names = [n for n in names if n in opts.names]
    passed = failed = 0
    for name in names:
        path = os.path.join(opts.cases, name + ".case")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        header, setup, want, head_lines, setup_text = parse_case(text)
        got = run_case(binary, header, setup)
        if opts.update:
            new = render(head_lines, setup_text, got)
            if new != text:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(new)
                print("updated %s" % name)
            passed += 1
            continue
        want.setdefault("stderr", "")
        want.setdefault("stdout", "")
        problems = []
        if "exit" not in want:
            problems.append("case has no '--- exit' section")
        elif got["exit"] != want["exit"]:
            problems.append("exit %d, expected %d" % (got["exit"], want["exit"]))
        for stream in ("stdout", "stderr"):
            if got[stream] != want[stream]:
                problems.append("%s differs:\n--- expected\n%s--- actual\n%s" % (stream, want[stream], got[stream]))
        if problems:
            failed += 1
            print("FAIL %s\n  %s" % (name, "\n  ".join(problems)))
        else:
            passed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Golden test runner for csb-resolve.

Each case is one file, cases/NAME.case:

    # free comment lines
    args: -P dev --explain            (shell-quoted; $ROOT is the case's tree)
    env: TMPDIR=$ROOT/tmp CODEX_HOME=$ROOT/codex
    cwd: repo                         (relative to $ROOT; default "repo"; a \\xNN is
                                       that byte, and the directory is created)
    (in env: values too, a \\xNN is that byte; VAR=<unset> unsets VAR, and
                                       with HOME unset or relative $PWHOME is the user
                                       database's home, in args and outputs)
    --- file home/.csb/config.toml    (a file and its content, up to the next ---)
    default_permissions = ":workspace"
    --- dir repo/.git
    --- symlink repo/.codex -> ../decoy
    --- fifo home/.csb/config.toml    (a named pipe)
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
import pwd
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import golden  # noqa: E402

HEADER = {"args": "", "env": "", "cwd": "repo"}


def unescape_bytes(s):
    """Each \\xNN of s as that byte (for paths that are not UTF-8)."""
    if "\\x" not in s:
        return s
    return os.fsdecode(re.sub(rb"\\x([0-9a-fA-F]{2})", lambda m: bytes([int(m.group(1), 16)]),
                              os.fsencode(s)))


def user_database(root):
    """For a run with HOME unset, whose home is the user database's: that
    home, and the command to prefix the run with. Run by root, the user
    database is one of the tree's own (bound over /etc/passwd in a mount
    namespace of the run's), whose home for us is $ROOT/pwhome, so that
    what the machine's real home holds (a managed proxy CA's directory,
    say) cannot change the outputs; otherwise it is the real one."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return pwd.getpwuid(os.getuid()).pw_dir, []
    pwhome = os.path.join(root, "pwhome")
    os.makedirs(pwhome, exist_ok=True)
    passwd = os.path.join(root, "passwd")
    with open("/etc/passwd") as f, open(passwd, "w") as g:
        for line in f:
            fields = line.rstrip("\n").split(":")
            if len(fields) == 7 and fields[2] == str(os.getuid()):
                fields[5] = pwhome
            g.write(":".join(fields) + "\n")
    return pwhome, ["unshare", "-m", "--propagation", "private", "sh", "-c",
                    'mount --bind "$0" /etc/passwd && exec "$@"', passwd]


def run_case(binary, header, sections):
    # Always below /var/tmp: never below /tmp (`:slash_tmp` grants /tmp),
    # and at a fixed place so that sorted outputs (entries are sorted by
    # path) order $ROOT the same way against /tmp, /srv, /usr, ...
    base = "/var/tmp"
    root = os.path.realpath(tempfile.mkdtemp(prefix="resolve.", dir=base))
    try:
        os.makedirs(os.path.join(root, "home"))
        os.makedirs(os.path.join(root, "repo"))
        golden.build_tree(root, sections, lambda s: s.replace("$ROOT", root))
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": root + "/home"}
        for item in shlex.split(header["env"]):
            key, val = item.split("=", 1)
            if val == "<unset>":
                env.pop(key, None)
            else:
                env[key] = unescape_bytes(val.replace("$ROOT", root))
        golden.with_sanitizer_env(env)
        # With HOME unset (or not absolute), the home is the user
        # database's: $PWHOME.
        no_home = not env.get("HOME", "").startswith("/")
        pwhome, wrap = user_database(root) if no_home else (None, [])
        args = [a.replace("$ROOT", root) for a in shlex.split(header["args"])]
        if pwhome:
            args = [a.replace("$PWHOME", pwhome) for a in args]
        if not golden.has_option(args, "--system-config"):
            args = ["--system-config", root + "/etc/csb/config.toml"] + args
        if not golden.has_option(args, "--requirements"):
            req = root + "/etc/csb/requirements.toml"
            args = ["--requirements", req if os.path.exists(req) else "/dev/null"] + args
        cwd = os.path.join(root, header["cwd"].replace("$ROOT", root))
        if "\\x" in cwd:
            cwd = unescape_bytes(cwd)
            os.makedirs(cwd, exist_ok=True)
        proc = subprocess.run(wrap + [binary] + args, cwd=cwd, env=env, capture_output=True, timeout=60)
        out = proc.stdout.decode("utf-8", "replace")
        err = proc.stderr.decode("utf-8", "replace")
        if pwhome:
            out, err = out.replace(pwhome, "$PWHOME"), err.replace(pwhome, "$PWHOME")
        out, err = out.replace(root, "$ROOT"), err.replace(root, "$ROOT")
        return {"exit": proc.returncode, "stdout": out, "stderr": err}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def split_results(sections):
    """The setup sections, and the expected results (`--- exit N` carries
    the status in its marker)."""
    setup, want = [], {}
    for marker, body in sections:
        word, _, rest = marker.partition(" ")
        if word == "exit":
            want["exit"] = int(rest)
        elif word in ("stdout", "stderr"):
            want[word] = golden.body_text(body)
        elif word in golden.SETUP_WORDS:
            setup.append((marker, body))
        else:
            raise ValueError("unknown section --- %s" % marker)
    return setup, want


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--cases", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases"))
    ap.add_argument("--update", action="store_true")
    ap.add_argument("names", nargs="*")
    opts = ap.parse_args()
    binary = os.path.abspath(opts.bin)

    def one(name):
        path = os.path.join(opts.cases, name + ".case")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        header, head, sections = golden.parse_case(text, HEADER)
        setup, want = split_results(sections)
        got = run_case(binary, header, setup)
        if opts.update:
            results = [("exit %d" % got["exit"], "")]
            results += [(k, got[k]) for k in ("stdout", "stderr") if got[k]]
            new = golden.render_case(head, setup, results)
            if new != text:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(new)
                print("updated %s" % name)
            return []
        if "exit" not in want:
            return ["case has no '--- exit' section"]
        if got["exit"] != want["exit"]:
            return ["exit %d, expected %d" % (got["exit"], want["exit"])] + \
                golden.compare(want, got, ("stdout", "stderr"))
        return golden.compare(want, got, ("stdout", "stderr"))

    return golden.run_suite(golden.case_names(opts.cases, opts.names), one)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Golden test runner for csb-winacl.

Each case is one file, cases/NAME.case:

    # free comment lines
    args: --backend unelevated --sid group=S-1-5-21-1-2-3-1001
                                   (split like a shell, but `\` is literal)
    tree: default                  (or `empty`: no default directories)
    then: simulate                 (optional: simulate the plan, plan again)
    env: CSB_HOME=C:foo            (optional: added to the tool's environment,
                                    which is otherwise PATH and LC_ALL only)
    stdout: full                   (optional: the tool's standard output is
                                    /dev/full, or `closed`; the case's stdout
                                    section is then empty)
    --- policy                     (JSON merged into base_policy.json: objects
    {"network": {"mode": "proxy"}}  merge member by member, anything else replaces)
    --- policy-file                (a whole document instead of base + overlay)
    --- dir C/repo/.git            (fixture tree, relative to the fs root)
    --- file C/repo/.git           (a file and its content, up to the next ---)
    gitdir: C:\\wt
    --- symlink C/repo/link -> ../other
    --- exit 0
    --- stdout
    ...expected plan...
    --- stderr
    ...expected diagnostics...
    --- simulate                   (with `then: simulate`: the simulation log)
    --- stdout2                    (with `then: simulate`: the second plan)

The fixture tree is the file system of the plan (`--fs-root`): `C:\\x` is
`C/x`. The default tree has C/repo, C/Users/me, C/Windows, C/Program Files,
C/Program Files (x86) and C/ProgramData. The command is

    csb-winacl plan --policy POLICY --fs-root FS -i \\
        --csb-home C:\\Users\\me\\.csb --user-profile C:\\Users\\me ARGS

(--csb-home / --user-profile only when ARGS does not set them; ARGS may
start with another command, e.g. `simulate`; `args: !ARGS` runs exactly
ARGS, with $FS and $POLICY substituted). Plans are compared in a
compact rendering of the JSON (objects and arrays of scalars on one line);
the runner also checks that the raw output is the canonical pretty-printed
form, so the comparison is exact. With `then: simulate` the runner also
checks that a second simulation changes nothing and that a third plan is
byte-for-byte the second. The tree's path is shown as $FS.

    run_golden.py --bin PATH [--cases DIR] [--update] [NAME...]

--update rewrites the result sections from the actual results (review the
diff by hand: goldens must say what the reference specifies).
"""
import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import golden  # noqa: E402
RESULT_SECTIONS = ("exit", "stdout", "stderr", "simulate", "stdout2")
DEFAULT_DIRS = ["C/repo", "C/Users/me", "C/Windows", "C/Program Files",
                "C/Program Files (x86)", "C/ProgramData"]
DEFAULT_HOME = "C:\\Users\\me\\.csb"
DEFAULT_PROFILE = "C:\\Users\\me"


def parse_case(text):
    return golden.parse_case(text, {"args": "", "tree": "default", "then": "", "env": "", "stdout": ""})


def merge(base, overlay):
    if isinstance(base, dict) and isinstance(overlay, dict):
        out = dict(base)
        for k, v in overlay.items():
            out[k] = merge(base[k], v) if k in base else v
        return out
    return overlay


def compact(value, indent=0):
    """Objects and arrays whose members are all scalars print on one line."""
    pad = "  " * indent

    def scalar(v):
        return not isinstance(v, (dict, list))

    if isinstance(value, dict):
        if not value:
            return "{}"
        if all(scalar(v) for v in value.values()):
            return "{" + ", ".join(json.dumps(k) + ": " + json.dumps(v, ensure_ascii=False)
                                   for k, v in sorted(value.items())) + "}"
        inner = ",\n".join(pad + "  " + json.dumps(k) + ": " + compact(v, indent + 1)
                           for k, v in sorted(value.items()))
        return "{\n" + inner + "\n" + pad + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        if all(scalar(v) for v in value):
            return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in value) + "]"
        inner = ",\n".join(pad + "  " + compact(v, indent + 1) for v in value)
        return "[\n" + inner + "\n" + pad + "]"
    return json.dumps(value, ensure_ascii=False)


def canonical(value):
    """The pretty form csb's JSON printer writes (sorted keys, 2 spaces)."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_stdout(out, problems, what):
    try:
        doc = json.loads(out)
    except ValueError:
        return out
    if not isinstance(doc, dict):
        return out
    if canonical(doc) != out:
        problems.append("%s: output is not in canonical form" % what)
    return compact(doc) + "\n"


def build_tree(fs, header, sections):
    if header["tree"] != "empty":
        for d in DEFAULT_DIRS:
            os.makedirs(os.path.join(fs, d), exist_ok=True)
    golden.build_tree(fs, sections)


def policy_text(sections):
    base = None
    with open(os.path.join(HERE, "base_policy.json"), encoding="utf-8") as f:
        base = json.load(f)
    doc = base
    for marker, body in sections:
        if marker == "policy":
            doc = merge(doc, json.loads("\n".join(body)))
        elif marker == "policy-file":
            return "\n".join(body) + "\n"
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def run(binary, args, cwd, extra_env="", stdout=""):
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}
    if extra_env:
        name, _, value = extra_env.partition("=")
        env[name] = value
    if stdout in ("full", "closed"):
        with open("/dev/full", "wb") as full:
            p = subprocess.run([binary] + args, cwd=cwd, env=env, stdout=full, stderr=subprocess.PIPE,
                               preexec_fn=(lambda: os.close(1)) if stdout == "closed" else None)
        return p.returncode, "", p.stderr.decode("utf-8", "replace")
    if stdout:
        raise ValueError("stdout: expected full or closed, not %r" % stdout)
    p = subprocess.run([binary] + args, cwd=cwd, env=env, capture_output=True)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def run_case(binary, path, update):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    header, head, sections = parse_case(text)
    expected = {m: golden.body_text(b) for m, b in sections if m in RESULT_SECTIONS}
    tmp = tempfile.mkdtemp(prefix="csb-winacl-golden-", dir="/var/tmp")
    problems = []
    actual = {}
    try:
        fs = os.path.join(tmp, "fs")
        os.makedirs(fs)
        build_tree(fs, header, sections)
        pol = os.path.join(tmp, "policy.json")
        with open(pol, "w", encoding="utf-8") as f:
            f.write(policy_text(sections))
        raw = header["args"].startswith("!")
        lex = shlex.shlex(header["args"].lstrip("!"), posix=True)
        lex.whitespace_split = True
        lex.escape = ""  # Windows paths: a backslash is just a character
        user = list(lex)
        cmd = "plan"
        if not raw and user and user[0] in ("plan", "simulate", "apply"):
            cmd = user.pop(0)
        args = [] if raw else [cmd]
        if cmd == "plan" and not raw:
            args += ["--policy", pol, "--fs-root", fs, "-i"]
            if not golden.has_option(user, "--csb-home"):
                args += ["--csb-home", DEFAULT_HOME]
            if not golden.has_option(user, "--user-profile"):
                args += ["--user-profile", DEFAULT_PROFILE]
        args += [a.replace("$FS", fs).replace("$POLICY", pol) for a in user]

        def norm(s):
            return s.replace(fs, "$FS").replace(tmp, "$TMP")

        rc, out, err = run(binary, args, tmp, header["env"], header["stdout"])
        actual["exit"] = "%d\n" % rc
        actual["stdout"] = norm(render_stdout(out, problems, "plan"))
        actual["stderr"] = norm(err)
        if header["then"] == "simulate" and rc == 0:
            plan1 = os.path.join(tmp, "plan1.json")
            with open(plan1, "w", encoding="utf-8") as f:
                f.write(out)
            src, sout, serr = run(binary, ["simulate", "--plan", plan1, "--fs-root", fs], tmp)
            actual["simulate"] = norm(sout + serr + ("exit %d\n" % src if src else ""))
            rc2, out2, err2 = run(binary, args, tmp)
            actual["stdout2"] = norm(render_stdout(out2, problems, "second plan") + err2)
            # Applying the second plan changes nothing, and planning again
            # gives the same bytes.
            plan2 = os.path.join(tmp, "plan2.json")
            with open(plan2, "w", encoding="utf-8") as f:
                f.write(out2)
            src2, sout2, serr2 = run(binary, ["simulate", "--plan", plan2, "--fs-root", fs], tmp)
            if src2 != 0 or sout2 or serr2:
                problems.append("second simulation was not a no-op: %s%s" % (sout2, serr2))
            rc3, out3, err3 = run(binary, args, tmp)
            if (rc3, out3, err3) != (rc2, out2, err2):
                problems.append("third plan differs from the second")
        if update:
            keep = [(m, b) for m, b in sections if m not in RESULT_SECTIONS]
            results = [(k, actual[k]) for k in RESULT_SECTIONS
                       if k in actual and not (k == "stderr" and actual[k] == "")]
            with open(path, "w", encoding="utf-8") as f:
                f.write(golden.render_case(head, keep, results))
            return problems
        problems += golden.compare(expected, actual, RESULT_SECTIONS, optional=("stderr",))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--cases", default=os.path.join(HERE, "cases"))
    ap.add_argument("--update", action="store_true")
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    binary = os.path.abspath(a.bin)
    return golden.run_suite(golden.case_names(a.cases, a.names),
                            lambda n: run_case(binary, os.path.join(a.cases, n + ".case"), a.update))


if __name__ == "__main__":
    sys.exit(main())

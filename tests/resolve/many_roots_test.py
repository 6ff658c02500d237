#!/usr/bin/env python3
"""csb-resolve with 20,000 writable roots resolves to the exact document.

A generated configuration lists N legacy writable roots, each twice (the
second time spelled with a trailing `/.`, which names the same root), 50 of
them existing directories with a `.git` directory. The document must hold
every root once, in order, and exactly the entries, legacy roots and
summary the rules give for them: what a 3-root configuration gives, scaled.
Two `--check` queries look at the last root. No timing is asserted.

    many_roots_test.py CSB_RESOLVE [N]
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile


def config(roots):
    spelled = []
    for r in roots:
        spelled += ['"%s"' % r, '"%s/."' % r]
    return ('sandbox_mode = "workspace-write"\n'
            "[sandbox_workspace_write]\n"
            "exclude_slash_tmp = true\n"
            "writable_roots = [%s]\n" % ", ".join(spelled))


def run(binary, home, cwd, args=()):
    env = {"HOME": home, "PATH": "/usr/bin:/bin"}
    return subprocess.run([binary, "--system-config", "/dev/null", "--requirements", "/dev/null"]
                          + list(args), env=env, cwd=cwd, capture_output=True, text=True)


def resolve(binary, top, name, roots):
    home = os.path.join(top, name)
    os.makedirs(os.path.join(home, ".csb"))
    with open(os.path.join(home, ".csb", "config.toml"), "w") as f:
        f.write(config(roots))
    p = run(binary, home, os.path.join(top, "repo"))
    if p.returncode != 0:
        raise SystemExit("csb-resolve failed (%d): %s" % (p.returncode, p.stderr))
    return home, p.stdout


def entries_of(root, legacy):
    es = [{"access": "write", "origin": ":workspace_roots", "path": root}]
    if legacy:
        es.append({"access": "write", "origin": "legacy:writable_roots", "path": root})
    for name in (".agents", ".codex", ".git"):
        es.append({"access": "read", "origin": ":workspace_roots/" + name,
                   "path": root + "/" + name, "skip_if_missing": True})
    return es


def scaled(small, small_roots, roots, cwd):
    """The document for `roots`, from the one for `small_roots`."""
    doc = json.loads(json.dumps(small))
    doc["workspace_roots"] = ([{"origin": "cwd", "path": cwd}]
                              + [{"origin": "legacy", "path": r} for r in roots])
    others = [e for e in small["filesystem"]["entries"]
              if not any(e["path"] == r or e["path"].startswith(r + "/")
                         for r in small_roots + [cwd])]
    es = others + entries_of(cwd, False)
    for r in roots:
        es += entries_of(r, True)
    order = {"read": 0, "write": 1, "deny": 2}
    es.sort(key=lambda e: (e["path"].encode(), order[e["access"]], e["origin"].encode()))
    doc["filesystem"]["entries"] = es
    # in the order of the entries (by path), without the cwd
    doc["legacy"]["sandbox_policy"]["writable_roots"] = sorted(roots, key=str.encode)
    head = "workspace-write [workdir"
    rest = small["summary"][len(head + "".join(", " + r for r in small_roots)):]
    doc["summary"] = head + "".join(", " + r for r in roots) + rest
    return doc


def main():
    binary = os.path.abspath(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    top = tempfile.mkdtemp(prefix="csb-many-roots.", dir=os.environ.get("TEST_TMPDIR"))
    try:
        cwd = os.path.join(top, "repo")
        os.makedirs(cwd)
        real = os.path.join(top, "roots")
        # Roots that exist (with a .git directory) and roots that do not.
        roots = []
        for i in range(n):
            if i % (n // 50 or 1) == 0:
                r = os.path.join(real, "w%05d" % i)
                os.makedirs(os.path.join(r, ".git"))
            else:
                r = "/csb-many-roots-test/w%05d" % i
            roots.append(r)
        small_roots = [roots[0], roots[1], roots[-1]]
        _, small_text = resolve(binary, top, "small", small_roots)
        small = json.loads(small_text)
        assert small["summary"].startswith("workspace-write [workdir, "), small["summary"]
        home, text = resolve(binary, top, "big", roots)
        got = json.loads(text)
        want = scaled(small, small_roots, roots, cwd)
        if got != want:
            for k in sorted(set(got) | set(want)):
                if got.get(k) != want.get(k):
                    print("differs: %s\n got %s\nwant %s" % (k, json.dumps(got.get(k))[:600], json.dumps(want.get(k))[:600]), file=sys.stderr)
            raise SystemExit("FAIL: the %d-root document is not the expected one" % n)
        # The last root: a file is writable, its .git is not.
        last = roots[-1]
        p = run(binary, home, cwd, ["--check", last + "/f", "--access", "write"])
        assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
        p = run(binary, home, cwd, ["--check", last + "/.git/config", "--access", "write"])
        assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
        assert "denied" in p.stdout, p.stdout
        print("ok: %d roots, %d entries" % (n, len(got["filesystem"]["entries"])))
    finally:
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Randomized differential check of csb-applypatch against Codex's apply_patch.

Generates seeded, deterministic cases (a small tree of files and a patch
derived from it), runs both tools as `apply_patch` (argv[0] dispatch: a
symlink of that name to each binary; the patch as the one argument, or on
standard input) in the same directory on identical copies of the tree, and
compares exit status, stdout, stderr and the final tree (bytes, file types,
modes). A difference is either one of the deliberate differences named in
expected_differences.txt (each recognised by a precise rule below that also
checks what must still agree) or unexpected.

usage: gen.py --csb BIN --codex BIN [--seed N] [--count N] [--only I]
              [--show I] [--keep DIR] [-v]

  --seed, --count  cases SEED..SEED+COUNT-1 (default 1, 2000); case I is the
                   same on every machine (random.Random(I))
  --only I         run case I only and print everything about it
  --show I         print case I's tree and patch without running anything
Exit status: 0 when no difference is unexpected, 1 otherwise, 2 on usage.
"""

import argparse
import os
import random
import shutil
import stat
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

# ---- generation ------------------------------------------------------------------

# Few distinct lines, so that context is often ambiguous.
WORDS = ["alpha", "beta", "gamma", "delta", "omega", "x = 1", "return x;", "}", "{",
         "fn main() {", "if (a) {", "# comment", "TODO", "end"]
# Lines with Unicode punctuation and spaces (the fourth pass of the ladder).
FANCY = ["say \u201chello\u201d", "it\u2019s fine", "a \u2013 b", "a \u2014 b", "x\u00a0y",
         "\u2018q\u2019", "minus \u2212 1", "wide\u3000space", "dash\u2010ed", "\u201e low \u201f",
         "thin\u2009space", "caf\u00e9 na\u00efve"]
NON_UTF8 = [b"latin1 caf\xe9", b"\xff\xfe bom-ish", b"bad \xc3\x28 seq", b"\x80 lone cont"]


def rand_line(r):
    k = r.random()
    if k < 0.55:
        s = r.choice(WORDS)
    elif k < 0.75:
        s = r.choice(FANCY)
    elif k < 0.85:
        s = ""
    else:
        s = "%s %d" % (r.choice(WORDS), r.randrange(5))
    # indentation and trailing whitespace
    if r.random() < 0.2:
        s = r.choice(["  ", "    ", "\t", " \t"]) + s
    if r.random() < 0.15:
        s = s + r.choice([" ", "  ", "\t", "\u00a0", " \r"])
    return s


def rand_file(r):
    """bytes of a small text file with chosen line endings."""
    if r.random() < 0.07:
        return b""
    n = r.randrange(1, 14)
    style = r.choices(["lf", "crlf", "mixed", "cr"], [0.55, 0.2, 0.2, 0.05])[0]
    out = []
    for i in range(n):
        if r.random() < 0.06:
            text = r.choice(NON_UTF8)
        else:
            text = rand_line(r).encode()
        if style == "lf":
            eol = b"\n"
        elif style == "crlf":
            eol = b"\r\n"
        elif style == "cr":
            eol = b"\r"
        else:
            eol = r.choice([b"\n", b"\r\n", b"\r\n", b"\r"])
        out.append(text + eol)
    if r.random() < 0.25:  # no final newline
        last = out[-1]
        out[-1] = last.rstrip(b"\r\n")
        if r.random() < 0.2:
            out[-1] = b""
    return b"".join(out)


def split_lines(data):
    """The lines of a file as text (U+FFFD for bytes that are not UTF-8),
    without their endings; a final line without an ending counts."""
    text = data.decode("utf-8", "replace")
    lines, cur, i = [], [], 0
    while i < len(text):
        c = text[i]
        if c == "\n" or c == "\r":
            lines.append("".join(cur))
            cur = []
            if c == "\r" and i + 1 < len(text) and text[i + 1] == "\n":
                i += 1
        else:
            cur.append(c)
        i += 1
    if cur:
        lines.append("".join(cur))
    return lines


FUZZ_MAP = {"\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2010": "-", "\u2019": "'", "\u2018": "'",
            "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u00a0": " ",
            "\u3000": " ", "\u2009": " "}


def fuzz_line(r, s):
    """s as a model might misquote it: whitespace or punctuation changed."""
    k = r.random()
    if k < 0.3:
        return s.rstrip() if s != s.rstrip() else s + " "
    if k < 0.55:
        return "  " + s.strip() if r.random() < 0.5 else s.strip()
    if k < 0.85:
        return "".join(FUZZ_MAP.get(c, c) for c in s)
    return s.replace("-", "\u2013").replace('"', "\u201d").replace(" ", "\u00a0", 1)


def pick_path(r, files, fresh=False):
    if files and not fresh and r.random() < 0.85:
        return r.choice(sorted(files))
    d = r.choice(["", "", "sub/", "sub/deep/", "new/", "a b/"])
    return "%s%s%d.txt" % (d, r.choice(["f", "g", "n"]), r.randrange(6))


def spell(r, path, base):
    """Another spelling of a relative path: ./, x/.., absolute, ../outside."""
    k = r.random()
    if k < 0.78:
        return path
    if k < 0.83:
        return "./" + path
    if k < 0.87:
        return "sub/../" + path
    if k < 0.92:
        return base + "/work/" + path
    if k < 0.95:
        return "../outside/" + os.path.basename(path)
    if k < 0.97:
        return base + "/outside/" + os.path.basename(path)
    if k < 0.985:
        return path + "/"
    return path.replace("/", "//")


def update_chunks(r, lines):
    """Chunks (list of patch lines) over lines, in order; some not applying."""
    chunks = []
    pos = 0
    n = len(lines)
    for _ in range(r.choice([1, 1, 1, 2, 2, 3])):
        if r.random() < 0.12:
            # pure addition (goes to the end of the file upstream)
            body = ["+" + rand_line(r) for _ in range(r.randrange(1, 3))]
            chunks.append((["@@"] if r.random() < 0.8 else []) + body)
            continue
        if pos >= n and n > 0 and r.random() < 0.5:
            break
        start = r.randrange(pos, n + 1) if pos <= n else n
        before = r.randrange(0, 4)
        cstart = max(pos, start - before)
        rem = r.randrange(0, 3)
        after = r.randrange(0, 4)
        old = lines[cstart:start + rem + after]
        seg_ctx_b = lines[cstart:start]
        seg_rem = lines[start:start + rem]
        seg_ctx_a = lines[start + rem:start + rem + after]
        body = []
        for s in seg_ctx_b:
            body.append(" " + (fuzz_line(r, s) if r.random() < 0.15 else s))
        for s in seg_rem:
            body.append("-" + (fuzz_line(r, s) if r.random() < 0.1 else s))
        for _ in range(r.randrange(0, 3)):
            body.append("+" + rand_line(r))
        for s in seg_ctx_a:
            body.append(" " + (fuzz_line(r, s) if r.random() < 0.15 else s))
        if r.random() < 0.08 and body:  # does not apply
            i = r.randrange(len(body))
            if body[i][0] != "+":
                body[i] = body[i][0] + "nowhere in the file"
        # empty context lines written as empty patch lines
        body = ["" if b == " " and r.random() < 0.5 else b for b in body]
        if not body:
            body = ["+" + rand_line(r)]
        head = []
        k = r.random()
        if k < 0.55:
            head = ["@@"]
        elif k < 0.8 and cstart > 0:
            # a line before the chunk (after the previous one when there is one)
            head = ["@@ " + lines[r.randrange(pos, cstart) if pos < cstart else cstart - 1]]
        elif k < 0.88:
            head = ["@@ " + r.choice(WORDS + ["no such context"])]
        elif k < 0.92:
            head = ["@@ def f():"]
        if not chunks and not head and r.random() < 0.5:
            head = []  # the first chunk may omit @@
        elif not head:
            head = ["@@"]
        eof = start + rem + after >= n and r.random() < 0.6
        chunks.append(head + body + (["*** End of File"] if eof else []))
        pos = min(start + rem + after, n)
        del old
    return chunks


def gen_case(seed):
    r = random.Random(seed)
    tree = {}  # rel path under ROOT -> (kind, data, mode)
    files = set()
    for _ in range(r.randrange(1, 6)):
        p = pick_path(r, set(), fresh=True)
        if p in files:
            continue
        files.add(p)
        mode = r.choices([0o644, 0o755, 0o600, 0o664], [0.7, 0.15, 0.1, 0.05])[0]
        tree["work/" + p] = ("f", rand_file(r), mode)
    tree["outside/f1.txt"] = ("f", b"outside\n", 0o644)
    if r.random() < 0.1:
        tree["work/emptydir"] = ("d", None, 0o755)
    if r.random() < 0.08 and files:
        tree["work/link.txt"] = ("l", r.choice(sorted(files)), 0)
        files.add("link.txt")
    return r, tree, files


def make_patch(seed, base):
    """(tree, hunks, wrap, mode): the case's tree, the hunk texts, how they
    are wrapped into the patch, and "argv" or "stdin"."""
    r, tree, files = gen_case(seed)
    live = set(files)
    contents = {p: tree["work/" + p][1] for p in files if tree["work/" + p][0] == "f"}
    hunks = []
    for _ in range(r.choices([1, 2, 3, 4], [0.4, 0.3, 0.2, 0.1])[0]):
        op = r.choices(["add", "delete", "update", "move"], [0.2, 0.12, 0.53, 0.15])[0]
        if op == "add":
            p = pick_path(r, live, fresh=r.random() < 0.8)
            body = ["+" + rand_line(r) for _ in range(r.choices([0, 1, 2, 4], [0.1, 0.4, 0.3, 0.2])[0])]
            hunks.append(["*** Add File: " + spell(r, p, base)] + body)
            live.add(p)
            contents[p] = ("\n".join(b[1:] for b in body) + "\n").encode() if body else b""
        elif op == "delete":
            p = pick_path(r, live, fresh=r.random() < 0.15)
            hunks.append(["*** Delete File: " + spell(r, p, base)])
            live.discard(p)
            contents.pop(p, None)
        else:
            p = pick_path(r, live, fresh=r.random() < 0.08)
            data = contents.get(p, b"")
            lines = split_lines(data)
            head = ["*** Update File: " + spell(r, p, base)]
            if op == "move":
                k = r.random()
                dest = p if k < 0.1 else pick_path(r, live, fresh=k > 0.35)
                head.append("*** Move to: " + spell(r, dest, base))
                live.discard(p)
                live.add(dest)
                contents[dest] = data
            chunks = update_chunks(r, lines) if r.random() < 0.95 else []
            hunks.append(head + [l for c in chunks for l in c])
    wrap = {}
    k = r.random()
    if k < 0.04:
        wrap["no_end"] = True
    elif k < 0.06:
        wrap["bad_begin"] = True
    elif k < 0.09:
        wrap["heredoc"] = r.choice(["<<EOF", "<<'EOF'", '<<"EOF"', "apply_patch <<'EOF'", "<<'EOF\""])
    elif k < 0.13:
        wrap["lead"] = r.choice(["\n", "\n\n", "  ", " \t\n", "\u00a0"])
    elif k < 0.17:
        wrap["trail"] = r.choice(["\n", "\n\n", "  \n", " "])
    elif k < 0.20:
        wrap["indent"] = r.choice(["  ", "\t"])
    elif k < 0.23:
        wrap["crlf"] = True
    elif k < 0.25:
        wrap["bad_header"] = r.randrange(len(hunks))
    elif k < 0.27:
        wrap["blank_between"] = True
    elif k < 0.29:
        wrap["no_hunks"] = True
    elif k < 0.31:
        wrap["stray"] = r.choice(["garbage line", "@@", "*** End of File", "+orphan", "@@ a\n@@ b"])
        hi = r.randrange(len(hunks))
        wrap["stray_at"] = (hi, r.randrange(1, len(hunks[hi]) + 1))
    wrap["final_lf"] = r.random() < 0.6
    mode = "stdin" if r.random() < 0.15 else "argv"
    return tree, hunks, wrap, mode


def build_patch(hunks, wrap):
    body = []
    for i, h in enumerate(hunks):
        h = list(h)
        if wrap.get("bad_header") == i:
            h[0] = h[0].replace("File:", "file:", 1) if "File:" in h[0] else "*** Frob File: x"
        if wrap.get("indent") and h:
            h[0] = wrap["indent"] + h[0]
        if "stray" in wrap and wrap["stray_at"][0] == i:
            h.insert(wrap["stray_at"][1], wrap["stray"])
        body.extend(h)
        if wrap.get("blank_between"):
            body.append("")
    if wrap.get("no_hunks"):
        body = []
    lines = ["*** Begin Patch"] + body
    if not wrap.get("no_end"):
        lines.append("*** End Patch")
    if wrap.get("bad_begin"):
        lines[0] = "*** Begin patch"
    if wrap.get("indent"):
        lines[0] = wrap["indent"] + lines[0]
        if not wrap.get("no_end"):
            lines[-1] = wrap["indent"] + lines[-1]
    if "heredoc" in wrap:
        lines = [wrap["heredoc"]] + lines + ["EOF"]
    eol = "\r\n" if wrap.get("crlf") else "\n"
    text = eol.join(lines) + (eol if wrap.get("final_lf") else "")
    text = wrap.get("lead", "") + text + wrap.get("trail", "")
    return text


# ---- running ---------------------------------------------------------------------


def materialize(root, tree):
    if os.path.lexists(root):
        shutil.rmtree(root)
    os.makedirs(os.path.join(root, "work"))
    os.makedirs(os.path.join(root, "outside"))
    for rel, (kind, data, mode) in sorted(tree.items()):
        full = os.path.join(root, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        if kind == "f":
            with open(full, "wb") as f:
                f.write(data)
            os.chmod(full, mode)
        elif kind == "d":
            os.makedirs(full, exist_ok=True)
            os.chmod(full, mode)
        else:
            os.symlink(data, full)


def snapshot(root):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("l", os.readlink(full), 0)
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("d", None, stat.S_IMODE(st.st_mode))
            elif stat.S_ISREG(st.st_mode):
                with open(full, "rb") as f:
                    out[rel] = ("f", f.read(), stat.S_IMODE(st.st_mode))
            else:
                out[rel] = ("s", None, st.st_mode)
    return out


def run_tool(binary, root, tree, patch, mode):
    materialize(root, tree)
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": os.path.join(root, "home")}
    if mode == "argv":
        argv, data = [binary, patch], b""
    else:
        argv, data = [binary], patch.encode()
    p = subprocess.run(argv, cwd=os.path.join(root, "work"), input=data, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return {"rc": p.returncode, "stdout": p.stdout, "stderr": p.stderr, "tree": snapshot(root)}


def tree_of(tree):
    """The snapshot a tree spec gives once materialized (dirs included)."""
    out = {"work": ("d", None, 0o755), "outside": ("d", None, 0o755)}
    for rel, (kind, data, mode) in tree.items():
        parts = rel.split("/")
        for i in range(1, len(parts)):
            out.setdefault("/".join(parts[:i]), ("d", None, 0o755))
        out[rel] = (kind, data, mode)
    return out


def tree_diff(a, b):
    lines = []
    for k in sorted(set(a) | set(b)):
        x, y = a.get(k), b.get(k)
        if x != y:
            def short(v):
                if v is None:
                    return "missing"
                if v[0] == "f":
                    return "file %o %r" % (v[2], v[1][:100])
                return "%s %r %o" % (v[0], v[1], v[2])
            lines.append("    %s: codex %s | csb %s" % (k, short(x), short(y)))
    return lines


def same(a, b, what=("rc", "stdout", "stderr", "tree")):
    return all(a[k] == b[k] for k in what)


# ---- deliberate differences (expected_differences.txt) --------------------------

# Private-use code points standing for bytes that are not UTF-8, so that
# Codex (which refuses to read such a file) can be run on an equivalent tree.
PUA = 0x10FF00


def to_utf8(data):
    s = data.decode("utf-8", "surrogateescape")
    return "".join(chr(PUA + (ord(c) - 0xDC00)) if 0xDC80 <= ord(c) <= 0xDCFF else c
                   for c in s).encode()


def from_utf8(data):
    try:
        s = data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    return "".join(chr(0xDC00 + ord(c) - PUA) if PUA + 0x80 <= ord(c) <= PUA + 0xFF else c
                   for c in s).encode("utf-8", "surrogateescape")


def is_utf8(data):
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


class Ctx:
    def __init__(self, args, root, seed, tree, hunks, wrap, mode, patch):
        self.args, self.root, self.seed = args, root, seed
        self.tree, self.hunks, self.wrap, self.mode, self.patch = tree, hunks, wrap, mode, patch
        self.initial = tree_of(tree)

    def codex(self, tree=None, patch=None):
        return run_tool(self.args.codex_ap, self.root, tree or self.tree, patch or self.patch,
                        self.mode)

    def csb(self, tree=None, patch=None):
        return run_tool(self.args.csb_ap, self.root, tree or self.tree, patch or self.patch,
                        self.mode)


def rule_non_utf8_file(ctx, cx, cs):
    """Codex refuses to read a file that is not UTF-8 (`Failed to read file
    to update P: invalid utf-8 sequence of 1 bytes from index N`); csb reads it and keeps
    the bytes. Precise check: Codex, run on the tree with each such byte
    replaced by a private-use character, must give csb's result once they
    are mapped back (or differ from it only as another listed rule
    allows)."""
    bad = {k: v for k, v in ctx.tree.items() if v[0] == "f" and not is_utf8(v[1])}
    if not bad or not (b"invalid utf-8 sequence of" in cx["stderr"]
                       or b"incomplete utf-8 byte sequence" in cx["stderr"]):
        return None
    t2 = {k: (v[0], to_utf8(v[1]), v[2]) if k in bad else v for k, v in ctx.tree.items()}
    cx2 = ctx.codex(tree=t2)
    cx2["tree"] = {k: (v[0], from_utf8(v[1]), v[2]) if v[0] == "f" else v
                   for k, v in cx2["tree"].items()}
    return cx2


def rule_partial_apply(ctx, cx, cs):
    """Upstream applies hunks one by one and keeps the earlier ones when a
    later one fails; csb changes nothing. Precise check: both fail with the
    same status and messages, csb left the tree as it was, and Codex's tree
    is csb's result for the longest prefix of the hunks that applies."""
    if not (cx["rc"] == cs["rc"] == 1 and cx["stdout"] == cs["stdout"] == b""
            and cx["stderr"] == cs["stderr"] and cs["tree"] == ctx.initial
            and cx["tree"] != ctx.initial):
        return None
    # The longest prefix that applies and agrees: with indented markers
    # (wrap "indent") a later header can read as a line of an earlier
    # chunk, so the hunk that failed is not always the first that does not
    # apply alone.
    for k in range(len(ctx.hunks) - 1, 0, -1):
        pre = ctx.csb(patch=build_patch(ctx.hunks[:k], ctx.wrap))
        if pre["rc"] == 0 and trees_agree(ctx, cx["tree"], pre["tree"]):
            return "ok"
    return None


def trees_agree(ctx, cx_tree, cs_tree):
    """Whether Codex's tree after a failure is csb's for the hunks before
    the failing one, but for what the failing hunk did before it failed
    (directories it created for its file), for the mode of moved files
    (move_keeps_source_mode, when listed) and for files moved onto
    themselves, which Codex removes (move_onto_itself, when listed)."""
    gone = self_moves(ctx) if "move_onto_itself" in ctx.enabled else set()
    for k in set(cx_tree) | set(cs_tree):
        a, b = cx_tree.get(k), cs_tree.get(k)
        if a == b:
            continue
        if b is None and a[0] == "d":
            continue
        if a is None and k in gone:
            continue
        if (a is not None and b is not None and a[:2] == b[:2]
                and "move_keeps_source_mode" in ctx.enabled and mode_kept(ctx, k, b[2])):
            continue
        return False
    return True


def moves(ctx):
    """(source, destination) of each move of the patch, as paths under ROOT."""
    out = []
    for h in ctx.hunks:
        if len(h) > 1 and h[0].startswith("*** Update File: ") and h[1].startswith("*** Move to: "):
            work = os.path.join(ctx.root, "work")
            src = os.path.normpath(os.path.join(work, h[0][len("*** Update File: "):]))
            dst = os.path.normpath(os.path.join(work, h[1][len("*** Move to: "):].rstrip()))
            out.append((os.path.relpath(src, ctx.root), os.path.relpath(dst, ctx.root)))
    return out


def resolve(ctx, path):
    """path (under ROOT) with the initial tree's symlinks followed."""
    for _ in range(8):
        v = ctx.initial.get(path)
        if v is None or v[0] != "l":
            return path
        path = os.path.normpath(os.path.join(os.path.dirname(path), v[1]))
    return path


def sources_of(ctx):
    """Destination (also where its symlinks lead) -> the sources moved
    there (a patch may move several)."""
    out = {}
    for s, d in moves(ctx):
        out.setdefault(d, []).append(s)
        if resolve(ctx, d) != d:
            out.setdefault(resolve(ctx, d), []).append(s)
    return out


def self_moves(ctx):
    """Sources of the moves onto their own path (or onto a symlink that
    leads to it)."""
    return {s for s, d in moves(ctx) if s == d or resolve(ctx, d) == resolve(ctx, s)}


def initial_mode(ctx, path):
    """The initial mode of the file at path (under ROOT), symlinks followed;
    None when there is none."""
    for _ in range(8):
        v = ctx.initial.get(path)
        if v is None:
            return None
        if v[0] != "l":
            return v[2]
        path = os.path.normpath(os.path.join(os.path.dirname(path), v[1]))
    return None


def mode_kept(ctx, path, mode, depth=0):
    """Whether mode is that of a file moved to path, as csb keeps it: the
    mode of a source, of a file moved to that source before (a chain of
    moves), or a new file's mode for a source the patch added."""
    for s in sources_of(ctx).get(path, []):
        m = initial_mode(ctx, s)
        if m == mode or (m is None and mode == 0o644):
            return True
        if depth < 8 and s != path and mode_kept(ctx, s, mode, depth + 1):
            return True
    return False


def rule_move_onto_itself(ctx, cx, cs):
    """A move onto its own path: Codex writes the file and then removes it
    (the file is gone), csb updates it in place. Precise check: the same
    status and output, and Codex's tree is csb's without that file; or, when
    a later hunk names that file, Codex fails there because the file is
    gone (`Failed to read file to update P: No such file or directory`,
    `Failed to delete file P`) and csb, whatever it did, did not fail
    earlier than that hunk would."""
    same_paths = self_moves(ctx)
    if not same_paths:
        return None
    if all(cx[k] == cs[k] for k in ("rc", "stdout", "stderr")):
        want = {k: v for k, v in cs["tree"].items() if k not in same_paths}
        return "ok" if want == cx["tree"] else None
    err = cx["stderr"].decode("utf-8", "replace")
    # the removed file, or a symlink that led to it
    named = same_paths | {k for k in ctx.initial if resolve(ctx, k) in same_paths}
    for p in named:
        full = os.path.join(ctx.root, p)
        if cx["rc"] == 1 and err in ("Failed to read file to update %s: No such file or "
                                     "directory (os error 2)\n" % full,
                                     "Failed to delete file %s\n" % full):
            return "ok"
    return None


def rule_created_directory_left(ctx, cx, cs):
    """csb creates the directories a file needs only when the patch leaves
    the file there; Codex creates them when it writes the file, and they
    stay when a later hunk deletes or moves it away. Precise check: the
    same status and output, and the trees differ only by empty directories
    that Codex has and csb does not."""
    if not all(cx[k] == cs[k] for k in ("rc", "stdout", "stderr")):
        return None
    for k in set(cx["tree"]) | set(cs["tree"]):
        a, b = cx["tree"].get(k), cs["tree"].get(k)
        if a == b:
            continue
        if (a is not None and b is not None and a[:2] == b[:2]
                and "move_keeps_source_mode" in ctx.enabled and mode_kept(ctx, k, b[2])):
            continue
        if b is not None or a[0] != "d" or any(o.startswith(k + "/") for o in cs["tree"]):
            return None
    return "ok"


def rule_move_keeps_source_mode(ctx, cx, cs):
    """A moved file keeps its source's mode in csb; Codex writes the
    destination anew (the umask's mode for a new file, the old mode of a
    file it replaces). Precise check: everything else agrees, and each
    destination whose mode differs has the source's initial mode in csb."""
    if not all(cx[k] == cs[k] for k in ("rc", "stdout", "stderr")):
        return None
    if set(cx["tree"]) != set(cs["tree"]):
        return None
    for k in cx["tree"]:
        a, b = cx["tree"][k], cs["tree"][k]
        if a == b:
            continue
        if a[:2] != b[:2] or not mode_kept(ctx, k, b[2]):
            return None
    return "ok"


def rule_directory_path(ctx, cx, cs):
    """A path naming a directory (`d/`, `d/.`, `d/x/..`) is refused by csb
    (`invalid path 'P': ends with ...`, status 1, nothing changed); Codex
    normalises it to the file `d`. Precise check: csb names a path that
    the patch spells that way, and left the tree as it was."""
    if cs["rc"] != 1 or cs["stdout"] or cs["tree"] != ctx.initial:
        return None
    err = cs["stderr"].decode("utf-8", "replace")
    if not err.startswith("invalid path '") or "(not a file path)" not in err:
        return None
    named = err[len("invalid path '"):].split("': ", 1)[0]
    spelt = [l.split(": ", 1)[1] for h in ctx.hunks for l in h[:2]
             if l.startswith(("*** Add File: ", "*** Delete File: ", "*** Update File: ",
                              "*** Move to: "))]
    ok = named in spelt and (named.endswith("/") or named.endswith("/.") or named.endswith("/.."))
    return "ok" if ok else None


RULES = {
    "non_utf8_file": rule_non_utf8_file,
    "partial_apply": rule_partial_apply,
    "move_onto_itself": rule_move_onto_itself,
    "move_keeps_source_mode": rule_move_keeps_source_mode,
    "directory_path": rule_directory_path,
    "created_directory_left": rule_created_directory_left,
}


def load_expected():
    names = []
    with open(os.path.join(HERE, "expected_differences.txt")) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                names.append(line)
    unknown = [n for n in names if n not in RULES]
    if unknown:
        sys.exit("expected_differences.txt names unknown rules: %s" % ", ".join(unknown))
    return names


def classify(ctx, cx, cs, enabled, depth=0):
    """(verdict, rules): "agree", "expected" or "unexpected"."""
    if same(cx, cs):
        return "agree", []
    for name in enabled:
        got = RULES[name](ctx, cx, cs)
        if got == "ok":
            return "expected", [name]
        if isinstance(got, dict) and depth < 2:
            v, rs = classify(ctx, got, cs, [n for n in enabled if n != name], depth + 1)
            if v != "unexpected":
                return "expected", [name] + rs
    return "unexpected", []


def describe(cx, cs, initial):
    out = []
    for k in ("rc", "stdout", "stderr"):
        if cx[k] != cs[k]:
            out.append("  %s: codex %r | csb %r" % (k, cx[k], cs[k]))
    if cx["tree"] != cs["tree"]:
        out.append("  tree:")
        out.extend(tree_diff(cx["tree"], cs["tree"]))
        out.append("    (codex tree %s the initial one, csb tree %s)" % (
            "is" if cx["tree"] == initial else "is not", "is" if cs["tree"] == initial else "is not"))
    return "\n".join(out)


def show_case(seed, base):
    tree, hunks, wrap, mode = make_patch(seed, base)
    print("case %d (%s), wrap %r" % (seed, mode, wrap))
    for rel, (kind, data, m) in sorted(tree.items()):
        print("  %s %s %o %r" % (kind, rel, m, data))
    print("patch:")
    print(build_patch(hunks, wrap))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--csb", required=True)
    ap.add_argument("--codex", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--only", type=int)
    ap.add_argument("--show", type=int)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    os.umask(0o022)
    enabled = load_expected()
    work = tempfile.mkdtemp(prefix="csb-apdiff-")
    try:
        bindir = os.path.join(work, "bin")
        for side, target in (("codex", args.codex), ("csb", args.csb)):
            os.makedirs(os.path.join(bindir, side))
            os.symlink(os.path.abspath(target), os.path.join(bindir, side, "apply_patch"))
        args.codex_ap = os.path.join(bindir, "codex", "apply_patch")
        args.csb_ap = os.path.join(bindir, "csb", "apply_patch")
        root = os.path.join(work, "case")
        if args.show is not None:
            show_case(args.show, root)
            return 0
        seeds = [args.only] if args.only is not None else range(args.seed, args.seed + args.count)
        counts = {"agree": 0, "expected": 0, "unexpected": 0}
        by_rule = {}
        unexpected = []
        for seed in seeds:
            tree, hunks, wrap, mode = make_patch(seed, root)
            patch = build_patch(hunks, wrap)
            ctx = Ctx(args, root, seed, tree, hunks, wrap, mode, patch)
            ctx.enabled = enabled
            cx = ctx.codex()
            cs = ctx.csb()
            verdict, rules = classify(ctx, cx, cs, enabled)
            counts[verdict] += 1
            for n in rules:
                by_rule[n] = by_rule.get(n, 0) + 1
            if verdict == "unexpected" or args.only is not None or args.verbose:
                if verdict == "unexpected":
                    unexpected.append(seed)
                print("%-10s case %d%s" % (verdict, seed, " (%s)" % ", ".join(rules) if rules else ""))
                if verdict != "agree":
                    print(describe(cx, cs, ctx.initial))
                if args.only is not None:
                    show_case(seed, root)
        print("cases %d: agree %d, differ as expected %d, differ unexpectedly %d" % (
            len(seeds), counts["agree"], counts["expected"], counts["unexpected"]))
        for n in enabled:
            print("  %-24s %d" % (n, by_rule.get(n, 0)))
        if unexpected:
            print("unexpected differences in cases: %s" % " ".join(map(str, unexpected[:50])))
            print("(rerun one with --only N; cases are the same for a given number)")
        return 1 if unexpected else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

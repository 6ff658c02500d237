"""The golden-case machinery shared by the suite runners of tests/resolve,
tests/seatbelt, tests/winacl and tests/applypatch.

A case file is a header (free `# comment` lines and `key: value` lines),
then sections, each a `--- MARKER` line and the body lines up to the next
`--- ` line. Each runner decides what the header keys and section markers
mean; this module parses and writes the format, builds fixture trees from
the common setup sections, compares results and runs a suite.

A runner loads it with

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
    import golden

(in Bazel, `//tests/lib:golden` goes into the test's data).
"""

import os

SANITIZER_VARS = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")


def parse_case(text, defaults):
    """(header, head, sections): `defaults` updated with the header's
    `key: value` lines for the keys it has, the header lines as written, and
    the sections as (marker, [body lines])."""
    header = dict(defaults)
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


def body_text(body):
    """Section body lines as text: each line ends with a newline."""
    return "\n".join(body) + ("\n" if body else "")


def section_text(sections, name):
    """The text of the first section whose marker is exactly `name`, or None."""
    for marker, body in sections:
        if marker == name:
            return body_text(body)
    return None


def text_lines(text):
    """The body lines that body_text() turns back into `text`."""
    return text[:-1].split("\n") if text.endswith("\n") else text.split("\n")


def render_case(head, sections, results):
    """A case file: the header lines, `sections` (marker, body lines) and
    then `results`, (marker, text) pairs whose text becomes the body."""
    out = list(head)
    for marker, body in sections:
        out.append("--- " + marker)
        out.extend(body)
    for marker, text in results:
        out.append("--- " + marker)
        if text:
            out.extend(text_lines(text))
    return "\n".join(out) + "\n"


SETUP_WORDS = ("dir", "file", "rawfile", "exec", "symlink", "fifo")


def build_tree(root, sections, subst=lambda s: s):
    """Creates the setup sections below `root`: `dir PATH`, `file PATH` (the
    body, each line ending with a newline), `rawfile PATH` (no final
    newline), `exec PATH` (a file, mode 0755), `symlink PATH -> TARGET` and
    `fifo PATH` (a named pipe).
    `subst` is applied to paths, targets and contents. Other sections are
    left to the caller."""
    for marker, body in sections:
        word, _, rest = marker.partition(" ")
        if word not in SETUP_WORDS:
            continue
        if word == "symlink":
            link, _, target = rest.partition("->")
            path = os.path.join(root, subst(link.strip()))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            os.symlink(subst(target.strip()), path)
            continue
        path = os.path.join(root, subst(rest))
        if word == "dir":
            os.makedirs(path, exist_ok=True)
            continue
        if word == "fifo":
            os.makedirs(os.path.dirname(path), exist_ok=True)
            os.mkfifo(path)
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        content = "\n".join(body)
        if word != "rawfile" and body:
            content += "\n"
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(subst(content))
        if word == "exec":
            os.chmod(path, 0o755)


def has_option(args, name):
    """Whether the words `args` give option `name` (`--x` or `--x=...`):
    a harness's default for a single-valued option must not be added to
    a case that gives its own (a second occurrence is a usage error)."""
    return any(a == name or a.startswith(name + "=") for a in args)


def with_sanitizer_env(env):
    """`env` plus the sanitizer settings of this process (--config=asan)."""
    for var in SANITIZER_VARS:
        if var in os.environ:
            env[var] = os.environ[var]
    return env


def compare(want, got, names, optional=("stdout", "stderr")):
    """Problems (strings) where got[name] differs from want[name] for each
    name; a missing `optional` result on either side counts as empty, any
    other missing one as absent."""
    problems = []
    for name in names:
        w, g = want.get(name), got.get(name)
        if name in optional:
            w, g = w or "", g or ""
        if w != g:
            problems.append("%s differs:\n--- expected\n%s--- actual\n%s" % (name, w or "", g or ""))
    return problems


def case_names(cases_dir, only=(), suffix=".case", dirs=False):
    """Sorted case names (without `suffix`; with dirs=True: the directories)
    below cases_dir, restricted to `only` (names with or without suffix)
    when it is not empty."""
    if dirs:
        names = [d for d in os.listdir(cases_dir) if os.path.isdir(os.path.join(cases_dir, d))]
    else:
        names = [n[:-len(suffix)] for n in os.listdir(cases_dir) if n.endswith(suffix)]
    names.sort()
    if only:
        wanted = set(only)
        names = [n for n in names if n in wanted or n + suffix in wanted]
    return names


def run_suite(names, run_one):
    """Runs run_one(name) -> [problems] for every name, printing `ok   NAME`
    or `FAIL NAME` with the problems indented, then `N passed, M failed`.
    Returns the exit status: 1 when a case failed or none ran."""
    passed = failed = 0
    for name in names:
        try:
            problems = run_one(name)
        except Exception as e:  # a broken case is a failure, not a crash
            problems = ["%s: %s" % (type(e).__name__, e)]
        if problems:
            failed += 1
            print("FAIL %s" % name)
            for p in problems:
                print("  " + p.replace("\n", "\n  "))
        else:
            passed += 1
            print("ok   %s" % name)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0

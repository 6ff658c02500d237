#!/usr/bin/env python3
"""The manual pages (docs/man/TOOL.1, mdoc) against the tools they describe.

For every shipped tool: its page exists and `mandoc -Tlint -Wwarning` finds
nothing; rendered for a terminal it fits one page (66 lines of at most 80
columns); the options its list describes are exactly those `TOOL --help`
prints; every csb page it refers to (`.Xr csb-... 1`) exists.

usage: man_test.py MAN_PAGE... -- TOOL_BINARY...
"""
import os
import re
import shutil
import subprocess
import sys

PAGE_LINES = 66
PAGE_COLUMNS = 80


def help_options(binary):
    out = subprocess.run([binary, "--help"], capture_output=True, text=True,
                         check=True).stdout
    opts = set()
    for line in out.splitlines():
        m = re.match(r"^  (?:(-\w), )?\s*(--[\w-]+)", line)
        if m:
            opts.update(o for o in m.groups() if o)
    return opts


def page_options(source):
    """Options named on the list items (`.It Fl ...`) of an mdoc page."""
    opts = set()
    for line in source.splitlines():
        if not line.startswith(".It Fl"):
            continue
        for tok in re.findall(r"\bFl\s+(\S+)", line.replace("\\-", "-")):
            if tok not in (",", "|"):
                opts.add("-" + tok)
    return opts


def main(argv):
    sep = argv.index("--")
    pages = {os.path.basename(p): p for p in argv[1:sep]}
    tools = argv[sep + 1:]
    if len(tools) < 6:
        print(f"expected the 6 tools, got {len(tools)}")
        return 1
    mandoc = shutil.which("mandoc")
    if not mandoc:
        print("FAIL: mandoc is not installed (./dev.sh setup installs it)")
        return 1
    failures = 0

    def check(name, problems):
        nonlocal failures
        if problems:
            failures += 1
            for p in problems:
                print(f"FAIL {name}: {p}")
        else:
            print(f"ok   {name}")

    for binary in tools:
        tool = os.path.basename(binary)
        page = pages.get(tool + ".1")
        if page is None:
            check(tool, [f"no manual page docs/man/{tool}.1"])
            continue
        with open(page, encoding="utf-8") as f:
            source = f.read()
        problems = []
        lint = subprocess.run([mandoc, "-Tlint", "-Wwarning", page],
                              capture_output=True, text=True)
        if lint.returncode != 0 or lint.stdout or lint.stderr:
            problems.append("mandoc -Tlint: " + (lint.stdout + lint.stderr).strip())
        if not re.search(rf"^\.Dt {re.escape(tool.upper())} 1$", source, re.M):
            problems.append(f".Dt is not '{tool.upper()} 1'")
        text = subprocess.run([mandoc, "-Tascii", page], capture_output=True,
                              text=True, check=True).stdout
        text = re.sub(r".\x08", "", text)
        lines = text.splitlines()
        if len(lines) > PAGE_LINES:
            problems.append(f"{len(lines)} lines rendered (at most {PAGE_LINES})")
        wide = [n for n, l in enumerate(lines, 1) if len(l.expandtabs()) > PAGE_COLUMNS]
        if wide:
            problems.append(f"line {wide[0]} wider than {PAGE_COLUMNS} columns")
        want, have = help_options(binary), page_options(source)
        if want - have:
            problems.append("options in --help, not on the page: " + " ".join(sorted(want - have)))
        if have - want:
            problems.append("options on the page, not in --help: " + " ".join(sorted(have - want)))
        for ref in re.findall(r"^\.Xr (csb-[\w-]+) 1", source, re.M):
            if ref + ".1" not in pages:
                problems.append(f"refers to {ref}(1), which does not exist")
        check(tool, problems)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

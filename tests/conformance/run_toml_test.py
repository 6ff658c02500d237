#!/usr/bin/env python3
"""Runs the toml-test vectors (TOML 1.0 subset) against a decoder.

Valid cases must decode (exit 0) to tagged JSON equal to the expected file,
compared by value: floats numerically (nan == nan), date/times by their
components (offset spelling, `T`/space and fractional-second trailing zeros
do not matter). Invalid cases must be rejected with exit status 1 (not a
crash or a timeout).

The vectors are found via $TOML_TEST_DIR, else ../shared/conformance/toml-test
relative to the repository root, else /work/shared/conformance/toml-test. A
missing directory is a failure, never a skip.
"""

import argparse
import concurrent.futures
import json
import math
import os
import re
import subprocess
import sys

DEFAULT_DIR = "/work/shared/conformance/toml-test"
TIMEOUT = 60


def find_vectors():
    env = os.environ.get("TOML_TEST_DIR")
    if env:
        return env
    here = os.path.dirname(os.path.realpath(__file__))
    repo = os.path.dirname(os.path.dirname(here))
    candidate = os.path.join(os.path.dirname(repo), "shared", "conformance", "toml-test")
    if os.path.isdir(candidate):
        return candidate
    return DEFAULT_DIR


DT_RE = re.compile(
    r"^(?:(\d{4})-(\d{2})-(\d{2}))?"
    r"(?:[Tt ]?(\d{2}):(\d{2})(?::(\d{2}))?(?:\.(\d+))?)?"
    r"([Zz]|[+-]\d{2}:\d{2})?$"
)


def norm_datetime(s):
    m = DT_RE.match(s)
    if not m:
        return ("unparsable", s)
    y, mo, d, h, mi, sec, frac, off = m.groups()
    frac = (frac or "").rstrip("0")
    if off in ("Z", "z", "-00:00"):
        off = "+00:00"
    return (y, mo, d, h, mi, sec or "00", frac, off)


def leaf_equal(exp, got):
    t = exp["type"]
    if got.get("type") != t:
        return False
    e, g = exp["value"], got["value"]
    if t == "float":
        fe, fg = float(e), float(g)
        if math.isnan(fe) or math.isnan(fg):
            return math.isnan(fe) and math.isnan(fg)
        return fe == fg
    if t == "integer":
        return int(e) == int(g)
    if t in ("datetime", "datetime-local", "date-local", "time-local"):
        return norm_datetime(e) == norm_datetime(g)
    return e == g


def is_leaf(x):
    return (
        isinstance(x, dict)
        and set(x.keys()) == {"type", "value"}
        and isinstance(x["type"], str)
        and isinstance(x["value"], str)
    )


def equal(exp, got, path="$"):
    """Returns None when equal, else a description of the first difference."""
    if is_leaf(exp):
        if not is_leaf(got) or not leaf_equal(exp, got):
            return f"{path}: expected {json.dumps(exp)}, got {json.dumps(got)}"
        return None
    if isinstance(exp, dict):
        if not isinstance(got, dict) or is_leaf(got):
            return f"{path}: expected a table, got {json.dumps(got)[:200]}"
        if set(exp) != set(got):
            return f"{path}: keys differ: expected {sorted(exp)}, got {sorted(got)}"
        for k in exp:
            r = equal(exp[k], got[k], f"{path}.{k}")
            if r:
                return r
        return None
    if isinstance(exp, list):
        if not isinstance(got, list) or len(exp) != len(got):
            return f"{path}: expected an array of {len(exp)}, got {json.dumps(got)[:200]}"
        for i, (a, b) in enumerate(zip(exp, got)):
            r = equal(a, b, f"{path}[{i}]")
            if r:
                return r
        return None
    return f"{path}: unexpected expected-value {exp!r}"


def run(decoder, path):
    with open(path, "rb") as f:
        data = f.read()
    try:
        p = subprocess.run([decoder], input=data, capture_output=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return None, b"", b"timeout"
    return p.returncode, p.stdout, p.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--decoder", required=True)
    ap.add_argument("--vectors", default=None)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()

    vectors = args.vectors or find_vectors()
    listing = os.path.join(vectors, "files-toml-1.0.0")
    if not os.path.isfile(listing):
        print(
            f"FAIL: toml-test vectors not found at {vectors} "
            "(set TOML_TEST_DIR to the toml-test checkout)",
            file=sys.stderr,
        )
        return 1
    if not os.access(args.decoder, os.X_OK):
        print(f"FAIL: decoder {args.decoder} is not executable", file=sys.stderr)
        return 1

    with open(listing) as f:
        files = [l.strip() for l in f if l.strip().endswith(".toml")]

    counts = {"valid": [0, 0], "invalid": [0, 0]}
    failures = []
    files = [rel for rel in files if rel.split("/", 1)[0] in counts]
    jobs = max(1, min(8, os.cpu_count() or 1))
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(
            pool.map(lambda rel: run(args.decoder, os.path.join(vectors, rel)), files)
        )
    for rel, (rc, out, err) in zip(files, results):
        kind = rel.split("/", 1)[0]
        path = os.path.join(vectors, rel)
        counts[kind][1] += 1
        if kind == "valid":
            if rc != 0:
                failures.append(f"{rel}: exit {rc}: {err.decode(errors='replace').strip()}")
                continue
            with open(path[: -len(".toml")] + ".json") as f:
                expected = json.load(f)
            try:
                got = json.loads(out)
            except ValueError as e:
                failures.append(f"{rel}: decoder printed invalid JSON: {e}")
                continue
            diff = equal(expected, got)
            if diff:
                failures.append(f"{rel}: {diff}")
                continue
        else:
            if rc != 1:
                why = "accepted" if rc == 0 else f"exit {rc} (crash or timeout?)"
                failures.append(f"{rel}: invalid input {why}")
                continue
            if args.verbose:
                print(f"{rel}: {err.decode(errors='replace').strip()}")
        counts[kind][0] += 1

    for f in failures:
        print("FAIL", f)
    for kind in ("valid", "invalid"):
        ok, total = counts[kind]
        print(f"toml-test 1.0 {kind}: {ok}/{total} passed")
    if counts["valid"][1] == 0 or counts["invalid"][1] == 0:
        print("FAIL: no test vectors found", file=sys.stderr)
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

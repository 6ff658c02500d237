"""Builds csb.policy/v1 documents for the test suites (by hand, the way
docs/policy.md describes them), so that they do not depend on csb-resolve:
csb-bwrap's behaviour and escape suites, csb-proxy's suite and
csb-applypatch's golden cases."""

import json

ACCESS_ORDER = {"read": 0, "write": 1, "deny": 2}


def doc(cwd, entries=(), net="restricted", unix=None, unix_all=False, globs=(),
        depth=None, minimal=False, backend="bubblewrap", enforcement="managed",
        kind="restricted", platform="linux", local_binding=False, proxy=None,
        profile=("test", "named"), summary="custom permissions",
        projection_error="not projected by the test generator", roots=None):
    """The document as a dict. entries: iterable of (path, access[, origin]);
    globs: deny patterns; profile: (id, kind); roots: workspace root paths
    (default: cwd)."""
    ents = []
    for e in entries:
        path, access = e[0], e[1]
        origin = e[2] if len(e) > 2 else path
        ents.append({"access": access, "origin": origin, "path": path})
    ents.sort(key=lambda x: (x["path"].encode(), ACCESS_ORDER[x["access"]], x["origin"]))
    fs = {
        "deny_globs": sorted(({"origin": "test", "pattern": g} for g in globs),
                             key=lambda x: x["pattern"].encode()),
        "entries": ents if kind == "restricted" else [],
        "include_platform_defaults": bool(minimal),
        "kind": kind,
    }
    if depth is not None:
        fs["glob_scan_max_depth"] = depth
    network = {
        "allow_local_binding": bool(local_binding),
        "dangerously_allow_all_unix_sockets": bool(unix_all),
        "mode": net,
        "unix_sockets": dict(sorted((unix or {}).items())),
    }
    if proxy is not None:
        network["proxy"] = proxy
    legacy = {"linux_backend": backend, "round_trips": backend == "landlock"}
    if backend == "landlock":
        legacy["sandbox_policy"] = {"network_access": net == "enabled", "type": "read-only"}
    else:
        legacy["projection_error"] = projection_error
    return {
        "cwd": cwd,
        "enforcement": enforcement,
        "filesystem": fs,
        "legacy": legacy,
        "network": network,
        "platform": platform,
        "profile": {"extends": [], "id": profile[0], "kind": profile[1]},
        "schema": "csb.policy/v1",
        "summary": summary,
        "warnings": [],
        "workspace_roots": [{"origin": "cwd", "path": r} for r in ([cwd] if roots is None else roots)],
    }


def policy(cwd, entries=(), **kw):
    """The document's canonical text (see doc())."""
    return json.dumps(doc(cwd, entries, **kw), indent=2, sort_keys=True) + "\n"

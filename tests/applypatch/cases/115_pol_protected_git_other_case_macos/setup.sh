# A macOS document: its volumes ignore case by default, so .GIT is the
# protected .git there (created when missing, git would find it as .git).
mkdir -p .git
cat > "$ROOT/mac.json" <<JSON
{
  "cwd": "$ROOT/work",
  "enforcement": "managed",
  "filesystem": {
    "deny_globs": [],
    "entries": [
      {"access": "read", "origin": ":root", "path": "/"},
      {"access": "write", "origin": ":workspace_roots", "path": "$ROOT/work"}
    ],
    "include_platform_defaults": false,
    "kind": "restricted"
  },
  "legacy": {"linux_backend": "bubblewrap", "projection_error": "not projected in this test", "round_trips": false},
  "network": {"allow_local_binding": false, "dangerously_allow_all_unix_sockets": false, "mode": "restricted", "unix_sockets": {}},
  "platform": "macos",
  "profile": {"extends": [], "id": ":workspace", "kind": "builtin"},
  "schema": "csb.policy/v1",
  "summary": "workspace-write [workdir]",
  "warnings": [],
  "workspace_roots": [{"origin": "cwd", "path": "$ROOT/work"}]
}
JSON

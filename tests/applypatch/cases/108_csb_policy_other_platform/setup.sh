# A valid document, but for Windows paths: refused on a POSIX host.
cat > "$ROOT/win.json" <<'JSON'
{
  "cwd": "C:\\repo",
  "enforcement": "managed",
  "filesystem": {
    "deny_globs": [],
    "entries": [
      {
        "access": "read",
        "origin": ":root",
        "path": "C:\\"
      },
      {
        "access": "write",
        "origin": ":workspace_roots",
        "path": "C:\\repo"
      }
    ],
    "include_platform_defaults": false,
    "kind": "restricted"
  },
  "legacy": {
    "linux_backend": "bubblewrap",
    "round_trips": true,
    "sandbox_policy": {
      "exclude_slash_tmp": true,
      "exclude_tmpdir_env_var": true,
      "network_access": false,
      "type": "workspace-write",
      "writable_roots": []
    }
  },
  "network": {
    "allow_local_binding": false,
    "dangerously_allow_all_unix_sockets": false,
    "mode": "restricted",
    "unix_sockets": {}
  },
  "platform": "windows",
  "profile": {
    "extends": [],
    "id": ":workspace",
    "kind": "builtin"
  },
  "schema": "csb.policy/v1",
  "summary": "workspace-write [workdir]",
  "warnings": [],
  "workspace_roots": [
    {
      "origin": "cwd",
      "path": "C:\\repo"
    }
  ]
}
JSON

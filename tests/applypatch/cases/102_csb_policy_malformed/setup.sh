printf '{"schema": "csb.policy/v2"}' > "$ROOT/bad.json"

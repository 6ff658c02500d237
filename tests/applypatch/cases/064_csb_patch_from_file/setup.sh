printf '*** Begin Patch\n*** Add File: f.txt\n+from file\n*** End Patch\n' > "$ROOT/p.patch"

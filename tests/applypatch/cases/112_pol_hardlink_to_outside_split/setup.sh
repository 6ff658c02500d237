# A hard link to a file outside the writable root: the update replaces
# the link, the outside file keeps its bytes.
ln "$ROOT/outside/secret.txt" hl.txt

# Set-user-ID and set-group-ID files, one owned by another user (as root:
# the owner is kept, and a change of owner would clear those bits).
chown 1000:1000 own 2>/dev/null && : > "$ROOT/chowned"
chmod 6755 tool own

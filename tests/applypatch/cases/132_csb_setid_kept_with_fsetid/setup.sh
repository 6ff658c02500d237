# Set-user-ID and set-group-ID files (tool, mover, same, ident: both bits
# with group execute; nox: set-group-ID without it; suid, over: set-user-ID).
chmod 6755 tool mover same ident
chmod 2745 nox
chmod 4644 suid
chmod 4755 over

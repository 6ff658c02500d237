# A `.git` file pointing (with a Windows path) at the real git directory:
# that directory is protected too.
mkdir -p store && printf 'gitdir: %s\n' "$WROOT\\work\\store" > .git

mkdir -p store && printf 'gitdir: %s\n' "$PWD/store" > .git

mkdir -p real/store && ln -s real/store store && printf 'gitdir: store\n' > .git

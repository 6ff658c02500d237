ln -s .git/config cfg

ln -s repo.git .git

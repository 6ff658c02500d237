mkdir -p repo.git/hooks && ln -s repo.git .git

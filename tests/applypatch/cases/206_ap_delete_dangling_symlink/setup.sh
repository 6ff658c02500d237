ln -s nothere l

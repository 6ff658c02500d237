ln -s missing-dir gone

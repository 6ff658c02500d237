ln -s "$ROOT/outside/new.txt" dangling

ln -s "$ROOT/outside/newdir" out

ln -s "$ROOT/outside/secret.txt" link

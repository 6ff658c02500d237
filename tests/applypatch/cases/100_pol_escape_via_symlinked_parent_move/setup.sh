ln -s "$ROOT/outside" out

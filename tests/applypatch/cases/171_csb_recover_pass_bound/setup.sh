# Interrupted changes nested N deep (default 130): change K created the
# directory n/.../n of depth K (a pointer in it to its journal, in the
# directory above, and a temporary file x.txt) and did not reach its commit
# point. Rolling back change K removes its directory, so the patch's
# n/.../n/f is planned from the directory above, where the commit finds
# change K-1, and the recovery before the plan, from the directory above
# that, change K-2: each pass of --recover finds two more, and the 64th
# still finds one (the bound; 130 are more than 1 + 2 * 64): exit 71
# after the list of the 128 recovered, changes 1 and 2 left.
# The journals and pointers name the paths under $ROOT/work (expected.sh
# makes the two changes left, N=2, elsewhere).
N=${N:-130}
r=.
d="$ROOT/work"
k=1
while [ "$k" -le "$N" ]; do
  id=$(printf '%x-%016x' "$k" "$k")
  mkdir "$r/n"
  J="$d/.csb-applypatch-$id.j" P="$d/n/.csb-applypatch-$id.p" D="$d/n" X="$d/n/x.txt"
  printf 'x\n' > "$r/n/.csb-applypatch-$id.t0"
  ln -s "$J" "$r/n/.csb-applypatch-$id.p"
  printf 'csb-applypatch-journal 1\nid %s\nP %d:%s\nD %d:%s\nW 0 0 %d:%s\nprepared\n' \
    "$id" ${#P} "$P" ${#D} "$D" ${#X} "$X" > "$r/.csb-applypatch-$id.j"
  r="$r/n"
  d="$d/n"
  k=$((k + 1))
done

# A committed change interrupted after its first rename (as in 144):
# --recover --dry-run names it and the way it is recovered, changing
# nothing; --recover then rolls it forward, and only that.
mkdir sub
printf 'new a\n' > a.txt
printf 'old b\n' > sub/b.txt
printf 'new b\n' > sub/.csb-applypatch-2-00000000000000cf.t1
J="$PWD/.csb-applypatch-2-00000000000000cf.j" P="$PWD/sub/.csb-applypatch-2-00000000000000cf.p"
ln -s "$J" "$P"
T1="$PWD/a.txt" T2="$PWD/sub/b.txt"
printf 'csb-applypatch-journal 1\nid 2-00000000000000cf\nP %d:%s\nW 0 1 %d:%s\nW 1 1 %d:%s\nprepared\ncommit\n' \
  ${#P} "$P" ${#T1} "$T1" ${#T2} "$T2" > "$J"

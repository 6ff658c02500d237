# The same patch, killed before its commit point: new/dir was created (with
# a pointer to the journal), the temporary files written. Rolled back, the
# directories go too; the patch is tried again.
mkdir -p new/dir
printf 'x\n' > new/dir/.csb-applypatch-9-0000000000000abc.t1
printf 'A\n' > .csb-applypatch-9-0000000000000abc.t0
J="$PWD/.csb-applypatch-9-0000000000000abc.j" P="$PWD/new/dir/.csb-applypatch-9-0000000000000abc.p"
ln -s "$J" "$P"
N1="$PWD/new" N2="$PWD/new/dir" T0="$PWD/a.txt" T1="$PWD/new/dir/x.txt"
printf 'csb-applypatch-journal 1\nid 9-0000000000000abc\nP %d:%s\nD %d:%s\nD %d:%s\nW 0 1 %d:%s\nW 1 0 %d:%s\nprepared\n' \
  ${#P} "$P" ${#N1} "$N1" ${#N2} "$N2" ${#T0} "$T0" ${#T1} "$T1" > "$J"

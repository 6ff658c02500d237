printf 'half' > .csb-applypatch-1-00000000000000ab.t0
printf 'csb-applypatch-journal 1\nid 1-00000000000000ab\nW 0 1 %d:%s\nprepared\n' ${#PWD} "$PWD/a.txt" > /dev/null
J="$PWD/.csb-applypatch-1-00000000000000ab.j"
T="$PWD/a.txt"
printf 'csb-applypatch-journal 1\nid 1-00000000000000ab\nW 0 1 %d:%s\nprepared\n' ${#T} "$T" > "$J"

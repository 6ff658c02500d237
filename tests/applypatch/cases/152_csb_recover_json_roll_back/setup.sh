# A change interrupted while it rolled back after its commit point (as in
# 145): --recover --json rolls it back (a.txt and d.txt old, c.txt gone)
# and applies nothing; a dry run of --recover then finds nothing pending.
printf 'new\n' > a.txt
printf 'the old a\n' > .csb-applypatch-5-00000000000000ef.r0
printf 'added\n' > c.txt
printf 'old d\n' > d.txt
printf 'new d\n' > .csb-applypatch-5-00000000000000ef.t2
A="$PWD/a.txt" C="$PWD/c.txt" D="$PWD/d.txt"
printf 'csb-applypatch-journal 1\nid 5-00000000000000ef\nW 0 1 %d:%s\nW 1 0 %d:%s\nW 2 1 %d:%s\nprepared\ncommit\nabort\n' \
  ${#A} "$A" ${#C} "$C" ${#D} "$D" > .csb-applypatch-5-00000000000000ef.j

printf 'b\n' > a.txt
printf 'mine\n' > .csb-applypatch-cafe.t0
printf 'mine\n' > .csb-applypatch-2024-01.r1
ln -s a.txt .csb-applypatch-1-2.p

mkdir keep made made/sub
printf 'n\n' > new.txt
printf 'mine\n' > .csb-applypatch-6-00000000000000aa.bak
mkfifo .csb-applypatch-6-00000000000000ab.t0
mkdir .csb-applypatch-6-00000000000000ac.p

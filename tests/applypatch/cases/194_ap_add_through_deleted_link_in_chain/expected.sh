printf 'a\n' > a
printf 'n\n' > l1
ln -s l1 l6

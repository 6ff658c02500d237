mkdir "$(printf 'latin1-\351')"
printf 'newer a\n' > a.txt

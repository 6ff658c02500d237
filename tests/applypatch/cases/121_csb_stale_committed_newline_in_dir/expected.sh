mkdir 'a
b' && printf 'new\n' > 'a
b/c.txt' && printf 'new\n' > a.txt && printf 'o\n' > other.txt

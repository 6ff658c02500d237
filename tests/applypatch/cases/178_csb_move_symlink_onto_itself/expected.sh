printf 'T\n' > target.txt && ln -s target.txt link.txt

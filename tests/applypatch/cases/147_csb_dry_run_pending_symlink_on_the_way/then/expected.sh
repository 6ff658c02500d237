mkdir d && printf 'F\n' > d/f.txt && ln -s d ln

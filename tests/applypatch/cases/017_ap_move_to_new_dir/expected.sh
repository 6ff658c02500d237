mkdir -p src dst/sub && printf 'b\n' > dst/sub/new.txt

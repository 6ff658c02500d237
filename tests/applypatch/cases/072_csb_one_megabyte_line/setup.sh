python3 -c "import sys; sys.stdout.write('a'*1048576 + '\nshort\n' + 'b'*1048576 + '\n')" > long.txt

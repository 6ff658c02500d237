python3 -c "import sys; sys.stdout.write('a'*1048576 + '\nSHORT\n' + 'b'*1048576 + '\n')" > long.txt

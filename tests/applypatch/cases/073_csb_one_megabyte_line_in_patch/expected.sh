python3 -c "import sys; sys.stdout.write('y'*1048576 + '\n')" > big.txt

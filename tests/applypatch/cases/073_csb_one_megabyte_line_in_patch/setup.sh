python3 -c "import sys; sys.stdout.write('x'*1048576 + '\n')" > big.txt

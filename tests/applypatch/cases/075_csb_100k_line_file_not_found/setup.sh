python3 -c "import sys; sys.stdout.write(''.join('line %d\n' % i for i in range(1, 100001)))" > big.txt

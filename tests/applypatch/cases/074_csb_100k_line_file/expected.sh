python3 -c "import sys; sys.stdout.write(''.join(('LINE %d\n' if i == 99999 else 'line %d\n') % i for i in range(1, 100001)))" > big.txt

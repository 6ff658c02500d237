python3 -c "import sys; sys.stdout.write(''.join(('L%d\n' if i % 5 == 0 else 'l%d\n') % i for i in range(5000)))" > f.txt

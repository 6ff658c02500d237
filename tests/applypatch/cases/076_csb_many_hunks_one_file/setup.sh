python3 -c "import sys; sys.stdout.write(''.join('l%d\n' % i for i in range(5000)))" > f.txt

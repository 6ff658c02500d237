import sys
sys.stdout.write('*** Begin Patch\n*** Update File: f.txt\n' + ''.join('@@\n-l%d\n+L%d\n' % (i, i) for i in range(0, 5000, 5)) + '*** End Patch\n')

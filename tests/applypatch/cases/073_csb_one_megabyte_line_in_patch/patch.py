import sys
sys.stdout.write('*** Begin Patch\n*** Update File: big.txt\n@@\n-' + 'x'*1048576 + '\n+' + 'y'*1048576 + '\n*** End Patch\n')

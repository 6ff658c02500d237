# An update and an add that exceeds RLIMIT_FSIZE (see fsize).
import sys
sys.stdout.write("*** Begin Patch\n*** Update File: a.txt\n@@\n-a\n+A\n*** Add File: big.txt\n+"
                 + "x" * 8192 + "\n*** End Patch\n")

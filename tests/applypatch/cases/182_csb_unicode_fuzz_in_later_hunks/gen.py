# Every code point of the normalised pass, in hunks after the first on one
# file (the blocked, Bloom-filtered search), over several 1024-line blocks.
# Lines holding each code point of the normalised pass, spread over several
# blocks of a long file; `new` gives the file after the patch.
import sys
CPS = ([c for c in range(0x2010, 0x2016)] + [0x2212] + list(range(0x2018, 0x201C)) +
       list(range(0x201C, 0x2020)) + [0xA0] + list(range(0x2002, 0x200B)) + [0x202F, 0x205F, 0x3000])
TO = {**{c: '-' for c in list(range(0x2010, 0x2016)) + [0x2212]},
      **{c: "'" for c in range(0x2018, 0x201C)}, **{c: '"' for c in range(0x201C, 0x2020)}}
def lines(new):
    out = ['l%d\n' % i for i in range(6000)]
    for k, c in enumerate(CPS):
        i = 100 + k * 200
        out[i] = ('CHANGED %04x\n' % c) if new else ('a%sb %04x\n' % (chr(c), c))
    out[0] = 'first\n' if new else 'l0\n'
    return out
def patch():
    s = '*** Begin Patch\n*** Update File: f.txt\n@@\n-l0\n+first\n'
    for k, c in enumerate(CPS):
        s += '*** Update File: f.txt\n@@\n-a%sb %04x\n+CHANGED %04x\n' % (TO.get(c, ' '), c, c)
    return s + '*** End Patch\n'
if sys.argv[1] == 'patch':
    sys.stdout.write(patch())
else:
    sys.stdout.buffer.write(''.join(lines(sys.argv[1] == 'new')).encode())

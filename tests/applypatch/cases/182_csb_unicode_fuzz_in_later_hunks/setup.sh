python3 "$(dirname "$0")/gen.py" old > f.txt

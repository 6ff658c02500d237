python3 "$(dirname "$0")/gen.py" new > f.txt

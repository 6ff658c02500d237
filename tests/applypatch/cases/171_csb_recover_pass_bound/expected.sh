# The first two changes of setup.sh, which --recover left.
N=2 . "$(dirname "$0")/setup.sh"

# A socket is not a file: adding over it (or moving onto it) would replace
# it with one that a rollback could not turn back into the socket.
python3 -c "import socket; socket.socket(socket.AF_UNIX).bind(\"sock\")"

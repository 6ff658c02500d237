# A socket is not a file (opening it would fail with ENXIO).
python3 -c "import socket; socket.socket(socket.AF_UNIX).bind(\"sock\")"

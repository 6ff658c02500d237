# A FIFO could not be put back if a later step failed: it is not removed.
mkfifo fifo
printf 'a\n' > z.txt

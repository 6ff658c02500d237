chmod 555 ro

printf 'file d\n' > d

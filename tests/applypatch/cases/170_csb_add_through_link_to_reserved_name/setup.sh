ln -s .csb-applypatch-1-0123456789abcdef.j x

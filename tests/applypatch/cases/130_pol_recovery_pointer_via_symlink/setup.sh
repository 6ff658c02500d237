# A pointer planted in the workspace to a journal that was never completed
# (recovery removes such a journal), named through a symlinked directory
# that leads outside the workspace (the lexical path is writable).
mkdir "$ROOT/other"
printf 'csb-applypatch-journal 1\nid 3-00000000000000b0\n' > "$ROOT/other/.csb-applypatch-3-00000000000000b0.j"
ln -s "$ROOT/other" link
ln -s "$PWD/link/.csb-applypatch-3-00000000000000b0.j" .csb-applypatch-3-00000000000000b0.p

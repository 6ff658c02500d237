# Sourced by the reproducibility tests of the release archives
# (reproducible_test.sh, windows_zip_test.sh).

# stage SPEC DIR STAMP PERM ORDER: copies every input of SPEC (lines
# MODE<TAB>ARCHIVE PATH<TAB>FILE) to DIR with the given mtime and
# permissions, and writes DIR/spec pointing at the copies (in reverse order
# when ORDER is `reverse`).
stage() {
  local spec=$1 dir=$2 stamp=$3 perm=$4 order=$5
  mkdir -p "$dir"
  local i=0 out="$dir/spec"
  : > "$out"
  while IFS=$'\t' read -r mode arc src; do
    i=$((i + 1))
    cp "$src" "$dir/f$i"
    chmod "$perm" "$dir/f$i"
    touch -d "$stamp" "$dir/f$i"
    printf '%s\t%s\t%s\n' "$mode" "$arc" "$dir/f$i" >> "$out"
  done < "$spec"
  if [ "$order" = reverse ]; then tac "$out" > "$out.r" && mv "$out.r" "$out"; fi
}

# repack_twice BUILT SPEC SUFFIX PACKER...: packs the inputs of SPEC twice
# with `PACKER... OUT SPEC`, from copies with different mtimes, permissions
# and entry order and under different umasks, and fails unless both
# archives (WORK/a SUFFIX, WORK/b SUFFIX) and BUILT are the same bytes.
repack_twice() {
  local built=$1 spec=$2 suffix=$3
  shift 3
  local work=${TEST_TMPDIR:-$(mktemp -d)}
  stage "$spec" "$work/a" "2001-02-03 04:05:06" 0600 forward
  stage "$spec" "$work/b" "now" 0777 reverse
  (umask 077 && "$@" "$work/a$suffix" "$work/a/spec")
  (umask 022 && "$@" "$work/b$suffix" "$work/b/spec")
  cmp "$work/a$suffix" "$work/b$suffix"
  cmp "$built" "$work/a$suffix"
}

# A Linux document: csb-applypatch cannot tell a case-folding directory
# (ext4 or f2fs +F, tmpfs casefold, vfat, exfat, an SMB share), where
# .GIT is the protected .git, from another: it refuses the other spelling
# everywhere, and the whole patch with it.
mkdir -p .git

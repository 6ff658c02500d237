/* elfcheck.c - asserts that files are fully static ELF executables.
 *
 * usage: elfcheck FILE...
 * For each file: ELF64 little-endian x86-64 executable, no PT_INTERP
 * (program interpreter), no PT_DYNAMIC and no .dynamic section. Prints one
 * line per file; exits 1 if any file fails. Used by static_check_test. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int check_file(const char *path, char *why, size_t whylen) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(why, whylen, "cannot open: %s", strerror(errno));
    return 0;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
    close(fd);
    snprintf(why, whylen, "not a regular file large enough to be ELF");
    return 0;
  }
  size_t size = (size_t)st.st_size;
  unsigned char *buf = malloc(size);
  if (!buf) {
    close(fd);
    snprintf(why, whylen, "out of memory");
    return 0;
  }
  size_t got = 0;
  while (got < size) {
    ssize_t n = read(fd, buf + got, size - got);
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(fd);
  int ok = 0;
  Elf64_Ehdr eh;
  memcpy(&eh, buf, sizeof eh);
  if (got != size) {
    snprintf(why, whylen, "short read");
  } else if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) {
    snprintf(why, whylen, "not an ELF file");
  } else if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
             eh.e_machine != EM_X86_64) {
    snprintf(why, whylen, "not an x86-64 ELF64 little-endian file");
  } else if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) {
    snprintf(why, whylen, "not an executable (e_type %u)", (unsigned)eh.e_type);
  } else if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > size ||
             (size - eh.e_phoff) / sizeof(Elf64_Phdr) < eh.e_phnum) {
    snprintf(why, whylen, "malformed program header table");
  } else {
    ok = 1;
    for (unsigned i = 0; ok && i < eh.e_phnum; i++) {
      Elf64_Phdr ph;
      memcpy(&ph, buf + eh.e_phoff + (size_t)i * sizeof ph, sizeof ph);
      if (ph.p_type == PT_INTERP) {
        snprintf(why, whylen, "has PT_INTERP (dynamically linked)");
        ok = 0;
      } else if (ph.p_type == PT_DYNAMIC) {
        snprintf(why, whylen, "has PT_DYNAMIC (dynamic section)");
        ok = 0;
      }
    }
    /* Section headers are optional (stripped binaries keep them, but be
     * lenient if absent); when present, no section may be .dynamic. */
    if (ok && eh.e_shoff && eh.e_shnum && eh.e_shentsize == sizeof(Elf64_Shdr) &&
        eh.e_shoff <= size && (size - eh.e_shoff) / sizeof(Elf64_Shdr) >= eh.e_shnum &&
        eh.e_shstrndx < eh.e_shnum) {
      Elf64_Shdr strtab;
      memcpy(&strtab, buf + eh.e_shoff + (size_t)eh.e_shstrndx * sizeof strtab, sizeof strtab);
      for (unsigned i = 0; ok && i < eh.e_shnum; i++) {
        Elf64_Shdr sh;
        memcpy(&sh, buf + eh.e_shoff + (size_t)i * sizeof sh, sizeof sh);
        if (sh.sh_type == SHT_DYNAMIC) {
          snprintf(why, whylen, "has a SHT_DYNAMIC section");
          ok = 0;
        } else if (strtab.sh_offset <= size && sh.sh_name < size - strtab.sh_offset) {
          const char *nm = (const char *)buf + strtab.sh_offset + sh.sh_name;
          size_t room = size - strtab.sh_offset - sh.sh_name;
          if (strnlen(nm, room) < room && strcmp(nm, ".dynamic") == 0) {
            snprintf(why, whylen, "has a .dynamic section");
            ok = 0;
          }
        }
      }
    }
  }
  free(buf);
  return ok;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: elfcheck FILE...\n");
    return 2;
  }
  int bad = 0;
  for (int i = 1; i < argc; i++) {
    char why[256] = "";
    if (check_file(argv[i], why, sizeof why)) {
      printf("ok: %s: static ELF, no interpreter, no dynamic section\n", argv[i]);
    } else {
      printf("FAIL: %s: %s\n", argv[i], why);
      bad++;
    }
  }
  return bad ? 1 : 0;
}

// mutate.h - seeded random edits of byte strings, for the unit tests that
// replay a parser's libFuzzer entry point over its seeds and over mutations
// of them on every `bazel test` (fuzzing proper: docs/fuzzing.md).
//
// Header-only C++17. Deterministic: the same options give the same inputs.
#ifndef CSB_TESTS_LIB_MUTATE_H
#define CSB_TESTS_LIB_MUTATE_H

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace csbtest {

struct MutateOptions {
  int rounds = 1000;     // mutations per seed
  int max_edits = 3;     // each mutation makes 1..max_edits edits
  std::string alphabet;  // bytes that edits write; empty: any byte
  uint64_t seed = 1;     // of the generator
};

// One edit of `m`: insert a byte, erase one, overwrite one, or overwrite a
// run of up to 4 (a length or count field, in binary formats).
inline void MutateOnce(std::string &m, std::mt19937_64 &rng, const std::string &alphabet) {
  size_t pos = rng() % (m.size() + 1);
  char c = alphabet.empty() ? static_cast<char>(rng() & 0xff) : alphabet[rng() % alphabet.size()];
  switch (rng() % 4) {
    case 0:
      m.insert(pos, 1, c);
      break;
    case 1:
      if (pos < m.size()) m.erase(pos, 1);
      break;
    case 2:
      if (pos < m.size()) m[pos] = c;
      break;
    default:
      if (pos < m.size()) m.replace(pos, 4, std::min<size_t>(4, m.size() - pos), c);
      break;
  }
}

// Calls fn(data, size) with every seed, then with o.rounds mutations of it.
// Returns the number of calls.
template <class Fn>
size_t ForEachMutation(const std::vector<std::string> &seeds, const MutateOptions &o, Fn fn) {
  std::mt19937_64 rng(o.seed);
  size_t calls = 0;
  for (const std::string &s : seeds) {
    fn(reinterpret_cast<const uint8_t *>(s.data()), s.size());
    calls++;
    for (int i = 0; i < o.rounds; i++) {
      std::string m = s;
      int edits = 1 + static_cast<int>(rng() % static_cast<unsigned>(o.max_edits > 0 ? o.max_edits : 1));
      for (int e = 0; e < edits; e++) MutateOnce(m, rng, o.alphabet);
      fn(reinterpret_cast<const uint8_t *>(m.data()), m.size());
      calls++;
    }
  }
  return calls;
}

}  // namespace csbtest

#endif

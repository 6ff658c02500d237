/* benchstat.h - the statistics the benchmarks under tests/bench print.
 * Pure functions; no allocation. */
#ifndef CSB_TESTS_BENCHSTAT_H
#define CSB_TESTS_BENCHSTAT_H

/* The median of v[0..n), n >= 1; sorts v in place. */
double bench_median(double *v, int n);

#endif

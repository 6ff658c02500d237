/* datetime.c - RFC 3339 date/time forms allowed by TOML 1.0: offset
 * date-time, local date-time, local date and local time. */
#include <stdio.h>
#include <string.h>

#include "toml_internal.h"

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* Reads exactly n digits at s[*i]. */
static int digits(const char *s, size_t len, size_t *i, int n, int *out) {
  int v = 0;
  for (int k = 0; k < n; k++) {
    if (*i + (size_t)k >= len || !is_digit(s[*i + (size_t)k])) return 0;
    v = v * 10 + (s[*i + (size_t)k] - '0');
  }
  *i += (size_t)n;
  *out = v;
  return 1;
}

static int is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int days_in_month(int y, int m) {
  static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && is_leap(y)) return 29;
  return days[m - 1];
}

const char *csb_toml_i_datetime_check(const csb_toml_datetime *dt) {
  if (!dt->has_date && !dt->has_time) return "a date/time needs a date or a time";
  if (dt->has_offset && !(dt->has_date && dt->has_time))
    return "an offset needs both a date and a time";
  if (dt->has_date) {
    if (dt->year < 0 || dt->year > 9999) return "year out of range (0000-9999)";
    if (dt->month < 1 || dt->month > 12) return "month out of range (01-12)";
    if (dt->day < 1 || dt->day > days_in_month(dt->year, dt->month))
      return "day out of range for the month";
  }
  if (dt->has_time) {
    if (dt->hour < 0 || dt->hour > 23) return "hour out of range (00-23)";
    if (dt->minute < 0 || dt->minute > 59) return "minute out of range (00-59)";
    if (dt->second < 0 || dt->second > 60) return "second out of range (00-60)";
    if (dt->nanosecond < 0 || dt->nanosecond > 999999999)
      return "fractional seconds out of range";
    if (dt->frac_digits < 0 || dt->frac_digits > 9)
      return "fractional digits out of range (0-9)";
  }
  if (dt->has_offset && (dt->offset_minutes <= -24 * 60 || dt->offset_minutes >= 24 * 60))
    return "time offset out of range";
  return NULL;
}

csb_toml_kind csb_toml_i_datetime_kind(const csb_toml_datetime *dt) {
  if (dt->has_date && dt->has_time)
    return dt->has_offset ? CSB_TOML_DATETIME : CSB_TOML_DATETIME_LOCAL;
  return dt->has_date ? CSB_TOML_DATE_LOCAL : CSB_TOML_TIME_LOCAL;
}

void csb_toml_i_datetime_format(const csb_toml_datetime *dt, char out[48]) {
  size_t n = 0;
  out[0] = '\0';
  if (dt->has_date)
    n += (size_t)snprintf(out + n, 48 - n, "%04d-%02d-%02d", dt->year, dt->month, dt->day);
  if (dt->has_date && dt->has_time) out[n++] = 'T';
  if (dt->has_time) {
    n += (size_t)snprintf(out + n, 48 - n, "%02d:%02d:%02d", dt->hour, dt->minute,
                          dt->second);
    if (dt->frac_digits > 0) {
      char frac[16];
      snprintf(frac, sizeof frac, "%09d", dt->nanosecond);
      out[n++] = '.';
      memcpy(out + n, frac, (size_t)dt->frac_digits);
      n += (size_t)dt->frac_digits;
    }
  }
  if (dt->has_offset) {
    if (dt->offset_z && dt->offset_minutes == 0) {
      out[n++] = 'Z';
    } else {
      int off = dt->offset_minutes;
      char sign = off < 0 ? '-' : '+';
      if (off < 0) off = -off;
      n += (size_t)snprintf(out + n, 48 - n, "%c%02d:%02d", sign, off / 60, off % 60);
    }
  }
  out[n] = '\0';
}

#define FAIL(m, off)  \
  do {                \
    *msg = (m);       \
    *bad_off = (off); \
    return 0;         \
  } while (0)

static int parse_time(const char *s, size_t n, size_t *i, csb_toml_datetime *dt,
                      const char **msg, size_t *bad_off) {
  size_t start = *i;
  if (!digits(s, n, i, 2, &dt->hour)) FAIL("expected a two-digit hour", *i);
  if (*i >= n || s[*i] != ':') FAIL("expected ':' after the hour", *i);
  (*i)++;
  if (!digits(s, n, i, 2, &dt->minute)) FAIL("expected a two-digit minute", *i);
  if (*i >= n || s[*i] != ':')
    FAIL("expected ':' and seconds after the minute (seconds are required)", *i);
  (*i)++;
  if (!digits(s, n, i, 2, &dt->second)) FAIL("expected two-digit seconds", *i);
  if (*i < n && s[*i] == '.') {
    (*i)++;
    if (*i >= n || !is_digit(s[*i])) FAIL("expected digits after '.' in the time", *i);
    int ns = 0, nd = 0;
    while (*i < n && is_digit(s[*i])) {
      if (nd < 9) {
        ns = ns * 10 + (s[*i] - '0');
        nd++;
      }
      (*i)++;
    }
    dt->frac_digits = nd;
    for (int k = nd; k < 9; k++) ns *= 10;
    dt->nanosecond = ns;
  }
  dt->has_time = 1;
  if (dt->hour > 23) FAIL("hour out of range (00-23)", start);
  if (dt->minute > 59) FAIL("minute out of range (00-59)", start + 3);
  if (dt->second > 60) FAIL("second out of range (00-60)", start + 6);
  return 1;
}

int csb_toml_i_datetime_parse(const char *s, size_t n, csb_toml_datetime *out,
                              const char **msg, size_t *bad_off) {
  csb_toml_datetime dt;
  memset(&dt, 0, sizeof dt);
  size_t i = 0;
  size_t k = 0;
  while (k < n && is_digit(s[k])) k++;
  if (k < n && s[k] == ':') {
    if (!parse_time(s, n, &i, &dt, msg, bad_off)) return 0;
    if (i != n) FAIL("unexpected character after local time", i);
    *out = dt;
    return 1;
  }
  if (!digits(s, n, &i, 4, &dt.year)) FAIL("expected a four-digit year", i);
  if (i >= n || s[i] != '-') FAIL("expected '-' after the year", i);
  i++;
  if (!digits(s, n, &i, 2, &dt.month)) FAIL("expected a two-digit month", i);
  if (i >= n || s[i] != '-') FAIL("expected '-' after the month", i);
  i++;
  if (!digits(s, n, &i, 2, &dt.day)) FAIL("expected a two-digit day", i);
  dt.has_date = 1;
  if (dt.month < 1 || dt.month > 12) FAIL("month out of range (01-12)", 5);
  if (dt.day < 1 || dt.day > days_in_month(dt.year, dt.month))
    FAIL("day out of range for the month", 8);
  if (i == n) {
    *out = dt;
    return 1;
  }
  if (s[i] != 'T' && s[i] != 't' && s[i] != ' ')
    FAIL("expected 'T' between date and time", i);
  i++;
  if (!parse_time(s, n, &i, &dt, msg, bad_off)) return 0;
  if (i < n) {
    if (s[i] == 'Z' || s[i] == 'z') {
      dt.has_offset = 1;
      dt.offset_z = 1;
      i++;
    } else if (s[i] == '+' || s[i] == '-') {
      int neg = s[i] == '-', oh, om;
      size_t at = i;
      i++;
      if (!digits(s, n, &i, 2, &oh)) FAIL("expected a two-digit offset hour", i);
      if (i >= n || s[i] != ':') FAIL("expected ':' in the time offset", i);
      i++;
      if (!digits(s, n, &i, 2, &om)) FAIL("expected two-digit offset minutes", i);
      if (oh > 23 || om > 59) FAIL("time offset out of range", at);
      dt.has_offset = 1;
      dt.offset_minutes = (neg ? -1 : 1) * (oh * 60 + om);
    }
    if (i != n) FAIL("unexpected character after date-time", i);
  }
  *out = dt;
  return 1;
}

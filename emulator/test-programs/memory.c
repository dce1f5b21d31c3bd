/* newlib's string functions, struct copies, .data/.bss, function pointers, recursion, switch tables. */
#include <stdio.h>
#include <string.h>

#include "runtime.h"

struct point {
  int x, y, z;
  char tag[9];
};

static struct point initialised = {1, -2, 3, "origin"}; /* .data */
static int zeroed[64];                                   /* .bss */
static unsigned char buf_a[300], buf_b[300];

static int add(int a, int b) { return a + b; }
static int sub(int a, int b) { return a - b; }
static int mul(int a, int b) { return a * b; }
static int (*const ops[])(int, int) = {add, sub, mul};

static unsigned fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
static unsigned ackermann(unsigned m, unsigned n) {
  if (m == 0) return n + 1;
  if (n == 0) return ackermann(m - 1, 1);
  return ackermann(m - 1, ackermann(m, n - 1));
}

static const char *weekday(volatile int d) {
  switch (d) {
    case 0: return "sun";
    case 1: return "mon";
    case 2: return "tue";
    case 3: return "wed";
    case 4: return "thu";
    case 5: return "fri";
    case 6: return "sat";
    default: return "?";
  }
}

int main(void) {
  CHECK(initialised.x == 1 && initialised.y == -2 && strcmp(initialised.tag, "origin") == 0);
  for (unsigned i = 0; i < sizeof zeroed / sizeof zeroed[0]; i++) CHECK(zeroed[i] == 0);

  /* memset/memcpy/memmove over all small alignments and lengths */
  for (unsigned off = 0; off < 4; off++) {
    for (unsigned len = 0; len < 70; len += 3) {
      memset(buf_a, 0xa5, sizeof buf_a);
      for (unsigned i = 0; i < len; i++) buf_b[i] = (unsigned char)(i * 7 + off);
      memcpy(buf_a + off, buf_b, len);
      for (unsigned i = 0; i < len; i++) CHECK(buf_a[off + i] == (unsigned char)(i * 7 + off));
      CHECK(buf_a[off + len] == 0xa5);
      if (off > 0) CHECK(buf_a[off - 1] == 0xa5);
    }
  }
  memset(buf_a + 1, 0, 257);
  CHECK(buf_a[0] == 0xa5 && buf_a[1] == 0 && buf_a[257] == 0 && buf_a[258] == 0xa5);
  for (unsigned i = 0; i < 100; i++) buf_a[i] = (unsigned char)i;
  memmove(buf_a + 3, buf_a, 50);
  CHECK(buf_a[3] == 0 && buf_a[52] == 49);
  CHECK(memcmp("abc", "abd", 3) < 0);

  char s[32];
  strcpy(s, "hello");
  strcat(s, ", world");
  CHECK(strlen(s) == 12);
  CHECK(strcmp(s, "hello, world") == 0);
  CHECK(strchr(s, 'w') == s + 7);

  struct point copy = initialised; /* struct copy */
  copy.z = 30;
  CHECK(copy.x == 1 && copy.z == 30 && initialised.z == 3 && strcmp(copy.tag, "origin") == 0);

  int acc = 10;
  for (unsigned i = 0; i < 3; i++) acc = ops[i](acc, 3);
  CHECK(acc == 30);

  CHECK(fib(20) == 6765);
  CHECK(ackermann(2, 3) == 9);
  CHECK(strcmp(weekday(3), "wed") == 0 && strcmp(weekday(9), "?") == 0);

  char line[64];
  snprintf(line, sizeof line, "fib(20)=%u %d %x %s", fib(20), -42, 0xbeefu, weekday(5));
  CHECK(strcmp(line, "fib(20)=6765 -42 beef fri") == 0);
  printf("%s\n", line);
  fflush(stdout);

  sh_puts("memory: ok\n");
  return 0;
}

/* Integer and soft-float arithmetic, mostly through libgcc's helpers. */
#include <limits.h>
#include <stdint.h>

#include "runtime.h"

/* volatile so the compiler cannot fold the operations away. */
static volatile uint32_t u_a = 1000000007u, u_b = 97u, u_big = 0xfffffffbu;
static volatile int32_t s_a = -1000000007, s_b = 97, s_min = INT_MIN;
static volatile uint64_t ull_a = 0x123456789abcdef0ull, ull_b = 0x1234567ull;
static volatile int64_t ll_a = -0x123456789abcdefll;
static volatile double d_a = 0.1, d_b = 0.2;
static volatile float f_a = 1.5f;

static uint32_t crc32(const uint8_t *p, uint32_t n) {
  uint32_t crc = 0xffffffffu;
  while (n--) {
    crc ^= *p++;
    for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
  }
  return ~crc;
}

int main(void) {
  /* __aeabi_uidiv / __aeabi_uidivmod */
  CHECK(u_a / u_b == 10309278u);
  CHECK(u_a % u_b == 41u);
  CHECK(u_big / 3u == 1431655763u);
  CHECK(u_big % 10u == 1u);
  /* __aeabi_idiv / __aeabi_idivmod: C rounds toward zero */
  CHECK(s_a / s_b == -10309278);
  CHECK(s_a % s_b == -41);
  CHECK(-s_a / -s_b == -10309278);
  CHECK(s_min / 2 == -1073741824);
  CHECK(s_min % 7 == -2);
  /* 64-bit: __aeabi_lmul, __aeabi_uldivmod, __aeabi_ldivmod, shifts */
  CHECK(ull_a * ull_b == 0xb97530ec94e46290ull);
  CHECK((uint64_t)u_a * u_b == 97000000679ull);
  CHECK(ull_a / ull_b == 0x1000000790ull);
  CHECK(ull_a / 1000000ull == 1311768467463ull);
  CHECK(ull_a % 1000000ull == 790320ull);
  CHECK(ll_a / 1000 == -81985529216486ll);
  CHECK(ll_a % 1000 == -895ll);
  CHECK(ull_a >> 36 == 0x1234567ull);
  CHECK(ull_a << 20 == 0x6789abcdef000000ull);
  CHECK(ll_a >> 40 == -0x12346ll);
  /* wrapping, bit tricks (__popcountsi2, __clzsi2 at -O0 / -Os) */
  CHECK(u_big + 10u == 5u);
  CHECK((uint32_t)s_b * (uint32_t)-s_a == 0x95a68ca7u);
  CHECK(__builtin_popcount(u_a) == 16);
  CHECK(__builtin_clz(u_b) == 25);
  CHECK(__builtin_ctz(0x80u * u_b) == 7);
  /* soft float: __aeabi_dadd, dcmpeq, ddiv, d2iz, fmul, f2d ... */
  CHECK(d_a + d_b != 0.3);
  CHECK(d_a + d_b > 0.3 && d_a + d_b < 0.30000000000001);
  CHECK((int)(d_b * 100.0) == 20);
  CHECK((double)u_b / 2.0 == 48.5);
  CHECK(f_a * f_a == 2.25f);
  CHECK((int)(f_a * -3.0f) == -4);
  /* a checksum over a string */
  CHECK(crc32((const uint8_t *)"123456789", 9) == 0xcbf43926u);

  sh_puts("arith: ok\n");
  return 0;
}

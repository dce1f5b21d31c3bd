/* Semihosting (BKPT 0xAB, operation in r0, argument in r1) and newlib's _write. */
#include "runtime.h"

#define SYS_WRITE0 0x04
#define SYS_WRITE 0x05
#define SYS_EXIT_EXTENDED 0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026

static int sh_call(int op, const void *arg) {
  register int r0 __asm__("r0") = op;
  register const void *r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

void sh_puts(const char *s) { sh_call(SYS_WRITE0, s); }

void sh_put_uint(uint32_t value) {
  char buf[11];
  int i = 10;
  buf[i] = 0;
  do {
    buf[--i] = (char)('0' + value % 10);
    value /= 10;
  } while (value != 0);
  sh_puts(&buf[i]);
}

void sh_exit(int code) {
  const uint32_t block[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)code};
  sh_call(SYS_EXIT_EXTENDED, block);
  for (;;) {
  }
}

void check_failed(const char *file, int line, const char *what) {
  sh_puts("CHECK failed: ");
  sh_puts(file);
  sh_puts(":");
  sh_put_uint((uint32_t)line);
  sh_puts(": ");
  sh_puts(what);
  sh_puts("\n");
  sh_exit(1);
}

/* newlib's stdio ends up here. */
int _write(int fd, const char *buf, int len) {
  const uint32_t block[3] = {(uint32_t)fd, (uint32_t)buf, (uint32_t)len};
  return len - sh_call(SYS_WRITE, block);
}

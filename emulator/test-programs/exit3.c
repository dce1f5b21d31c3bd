/* Exits with status 3, for the runner's exit code. */
#include "runtime.h"

int main(void) {
  sh_puts("exit3: leaving with 3\n");
  return 3;
}

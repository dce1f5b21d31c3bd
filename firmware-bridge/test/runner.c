#include "runner.h"

#include <stdio.h>

#define MAX_TESTS 512

static struct {
    const char *name;
    test_fn fn;
} tests[MAX_TESTS];
static int ntests;
static const char *current;
int runner_failed_now;

void runner_register(const char *name, test_fn fn)
{
    if (ntests < MAX_TESTS) {
        tests[ntests].name = name;
        tests[ntests].fn = fn;
        ntests++;
    }
}

void runner_fail(const char *file, int line, const char *msg)
{
    printf("FAIL %s (%s:%d): %s\n", current, file, line, msg);
    runner_failed_now = 1;
}

void runner_fail_eq(const char *file, int line, const char *expr, unsigned long long got,
                    unsigned long long want)
{
    printf("FAIL %s (%s:%d): %s is 0x%llx, expected 0x%llx\n", current, file, line, expr, got,
           want);
    runner_failed_now = 1;
}

int main(void)
{
    int passed = 0, failed = 0;
    for (int i = 0; i < ntests; i++) {
        current = tests[i].name;
        runner_failed_now = 0;
        tests[i].fn();
        if (runner_failed_now)
            failed++;
        else
            passed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

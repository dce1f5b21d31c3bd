/* A tiny test runner: TEST(name) registers a test; CHECK* record a
 * failure (one line each) and end the test. */
#ifndef RUNNER_H
#define RUNNER_H

#include <stdint.h>

typedef void (*test_fn)(void);
void runner_register(const char *name, test_fn fn);
void runner_fail(const char *file, int line, const char *msg);
extern int runner_failed_now;

#define TEST(name)                                                              \
    static void name(void);                                                     \
    __attribute__((constructor)) static void register_##name(void)              \
    {                                                                           \
        runner_register(#name, name);                                           \
    }                                                                           \
    static void name(void)

#define CHECK(cond)                                                             \
    do {                                                                        \
        if (!(cond)) {                                                          \
            runner_fail(__FILE__, __LINE__, #cond);                             \
            return;                                                             \
        }                                                                       \
    } while (0)

void runner_fail_eq(const char *file, int line, const char *expr, unsigned long long got,
                    unsigned long long want);
#define CHECK_EQ(got, want)                                                     \
    do {                                                                        \
        unsigned long long g_ = (unsigned long long)(got);                      \
        unsigned long long w_ = (unsigned long long)(want);                     \
        if (g_ != w_) {                                                         \
            runner_fail_eq(__FILE__, __LINE__, #got, g_, w_);                   \
            return;                                                             \
        }                                                                       \
    } while (0)

#endif

/* check: the smallest test harness: CHECK counts, the summary prints
 * "N passed, N failed" (the line CI reads). */
#ifndef CAMRELAY_TEST_CHECK_H
#define CAMRELAY_TEST_CHECK_H

#include <stdio.h>

static unsigned long check_passed, check_failed;

#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        if (cond) {                                                       \
            check_passed++;                                               \
        } else {                                                          \
            check_failed++;                                               \
            fprintf(stderr, "%s:%d: FAIL: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                 \
            fputc('\n', stderr);                                          \
        }                                                                 \
    } while (0)

static int check_summary(const char *what) {
    printf("%s: %lu passed, %lu failed\n", what, check_passed, check_failed);
    return check_failed == 0 ? 0 : 1;
}

#endif

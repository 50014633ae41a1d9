/* Tiny test helper: every failed check is printed and makes the test exit non-zero. */
#ifndef AXF_TEST_CHECK_H
#define AXF_TEST_CHECK_H

#include <math.h>
#include <stdio.h>

static int check_failures = 0;
static int check_count = 0;

#define CHECK(cond) do { check_count++; if (!(cond)) { check_failures++; \
    fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_MSG(cond, ...) do { check_count++; if (!(cond)) { check_failures++; \
    fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)
#define CHECK_NEAR(a, b, tol) do { double _a = (a), _b = (b); check_count++; \
    if (!(fabs(_a - _b) <= (tol)) ) { check_failures++; \
    fprintf(stderr, "%s:%d: check failed: %s = %.9g, %s = %.9g, tol %g\n", __FILE__, __LINE__, \
            #a, _a, #b, _b, (double)(tol)); } } while (0)
/* Call at the end of main: prints a summary and returns the exit status. */
#define CHECK_DONE() (fprintf(stderr, "%d checks, %d failed\n", check_count, check_failures), \
    (check_failures || !check_count) ? 1 : 0)

#endif

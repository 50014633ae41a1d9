/* axf_json_check: valid JSON accepted, each fault that cJSON takes silently or misreports refused
 * with one line naming the file and line (issue 13: duplicate keys, text after the value, NUL in a
 * string, nesting past cJSON's limit), and whatever it accepts cJSON parses. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "axf/fileio.h"
#include "check.h"

static int ok(const char *s)
{
    axf_err err = {{0}};
    int rc = axf_json_check(s, strlen(s), "f.json", &err);
    CHECK_MSG(rc == 0, "'%s' refused: %s", s, err.msg);
    return rc == 0;
}

static void bad(const char *s, size_t n, const char *needle)
{
    axf_err err = {{0}};
    int rc = axf_json_check(s, n, "f.json", &err);
    CHECK_MSG(rc != 0, "'%s' accepted", s);
    CHECK_MSG(rc == 0 || (strstr(err.msg, needle) && strncmp(err.msg, "f.json: ", 8) == 0 && !strchr(err.msg, '\n')),
              "'%s': '%s' lacks '%s'", s, err.msg, needle);
}
#define BAD(s, needle) bad(s, strlen(s), needle)

int main(void)
{
    ok("{}");
    ok(" [ ] \n");
    ok("{\"a\": [1, -0.5e+3, 0, 1E9, true, false, null, \"x\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"]}");
    ok("\"text\"");
    ok("12");
    ok("{\"a\": {\"a\": 1}, \"b\": {\"a\": 2}, \"c\": [{\"a\": 1}, {\"a\": 1}]}");
    ok("{\"A\": 1, \"a\": 2, \"a \": 3, \"\": 4}");

    /* duplicate keys, also spelt differently, also after a nested object */
    BAD("{\"a\": 1,\n \"a\": 2}", "f.json: line 2: key 'a' appears twice in one object (first at line 1)");
    BAD("{\"a\": 1, \"\\u0061\": 2}", "key 'a' appears twice");
    BAD("{\"x\": {\"k\": 1, \"y\": {}}, \"k\": 0, \"x\": 3}", "key 'x' appears twice");
    BAD("[{\"b\": 1, \"c\": {\"b\": 1}, \"b\": 2}]", "key 'b' appears twice");
    BAD("{\"a\\nb\": 1, \"a\\nb\": 2}", "key 'a\\nb' appears twice");
    /* text after the value */
    BAD("{\"a\": 1} x", "line 1: trailing text after the JSON value");
    BAD("{\"a\": 1}\n\n{}", "line 3: trailing text");
    bad("{}\0", 3, "trailing text");
    /* NUL */
    BAD("{\"a\\u0000b\": 1}", "line 1: a string holds \\u0000 (NUL)");
    BAD("[\"F32\\u0000\"]", "\\u0000");
    bad("{\"a\0\": 1}", 9, "a NUL byte");
    /* nesting */
    char deep[2000];
    memset(deep, '[', 600);
    memset(deep + 600, ']', 600);
    deep[1200] = 0;
    BAD(deep, "line 1: JSON nested deeper than 512 levels");
    memset(deep, '[', 512);
    memset(deep + 512, ']', 512);
    deep[1024] = 0;
    ok(deep);
    /* truncation and syntax */
    BAD("{\"vocab_size\": 20,", "line 1: truncated JSON (it ends early)");
    BAD("{\"a\": tru", "truncated");
    BAD("{\"a\": \"x", "truncated");
    BAD("", "empty file");
    BAD("  \n", "empty file");
    BAD("{\"a\": 01}", "line 1: not valid JSON");
    BAD("{\"a\": 1.}", "digits expected after '.'");
    BAD("{\"a\": .5}", "a value expected");
    BAD("{\"a\": 1e}", "exponent");
    BAD("{\"a\": +1}", "a value expected");
    BAD("{\"a\": NaN}", "a value expected");
    BAD("{\"a\": \"\x01\"}", "control character");
    BAD("{\"a\": \"\\x\"}", "unknown escape");
    BAD("{\"a\": \"\\ud800\"}", "high surrogate");
    BAD("{\"a\": \"\\udc00\"}", "low surrogate");
    BAD("{\"a\": \"\\u12g4\"}", "4 hex digits");
    BAD("{\"a\" 1}", "':' expected");
    BAD("{\"a\": 1,}", "a key (a string) expected");
    BAD("{a: 1}", "a key");
    BAD("[1 2]", "',' or ']' expected");
    BAD("{\"a\": 1]", "',' or '}' expected");
    BAD("\xef\xbb\xbf{}", "not valid JSON");
    BAD("{\"a\": \"\x1b[2J\"}", "control character");

    /* a big object (a BPE vocab.json): sorted, not compared pairwise */
    size_t cap = 60000 * 24;
    char *big = malloc(cap), *o = big;
    *o++ = '{';
    for (int i = 0; i < 60000; i++)
        o += sprintf(o, "%s\"t%d\": %d", i ? ", " : "", i, i);
    strcpy(o, "}");
    double t0 = axf_now();
    ok(big);
    double dt = axf_now() - t0;
    CHECK_MSG(dt < 1.0, "60,000 keys took %.2f s", dt);
    strcpy(o, ", \"t59999\": 0}");
    BAD(big, "key 't59999' appears twice");
    free(big);

    /* whatever the check accepts, cJSON parses (byte mutations of a config-like text) */
    const char *base = "{\"a\": [1, 2.5e-3, {\"b\": \"x\\u00e9\\n\"}], \"c\": true, \"d\": null, \"e\": \"\\ud83d\\ude00\"}";
    axf_rng r;
    axf_rng_seed(&r, 3);
    int accepted = 0, refused = 0;
    for (int it = 0; it < 20000; it++) {
        char buf[256];
        size_t n = strlen(base);
        memcpy(buf, base, n + 1);
        int flips = 1 + axf_rng_below(&r, 3);
        for (int k = 0; k < flips; k++) {
            static const char pick[] = "{}[]\":,\\ 0-e.tnu\x01\xff";
            buf[axf_rng_below(&r, (int)n)] = pick[axf_rng_below(&r, (int)sizeof pick - 1)];
        }
        axf_err err;
        if (axf_json_check(buf, n, "m.json", &err) == 0) {
            accepted++;
            cJSON *j = cJSON_ParseWithLengthOpts(buf, n + 1, NULL, 1); /* + 1: the NUL ends it */
            CHECK_MSG(j != NULL, "accepted but cJSON fails: %s", buf);
            cJSON_Delete(j);
        } else {
            refused++;
            CHECK(strncmp(err.msg, "m.json: ", 8) == 0 && !strchr(err.msg, '\n'));
        }
    }
    printf("mutations: %d accepted (cJSON parses each), %d refused\n", accepted, refused);
    return CHECK_DONE();
}

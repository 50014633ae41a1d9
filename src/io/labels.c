/* A model's classes by name or number, and their description in messages. */
#include "axf/labels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 1 when s is a decimal integer without sign, spaces or leading zeros, in 0..max; *v = value. */
static int class_number(const char *s, int max, int *v)
{
    if (!*s || (s[0] == '0' && s[1]) || strlen(s) > 9)
        return 0;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9')
            return 0;
    long x = strtol(s, NULL, 10);
    if (x > max)
        return 0;
    *v = (int)x;
    return 1;
}

int axf_labels_find(const axf_config *c, const char *s)
{
    int C = c->num_labels, v;
    for (int i = 0; i < C; i++)
        if (c->labels[i][0] && strcmp(c->labels[i], s) == 0)
            return i;
    if (strncmp(s, "LABEL_", 6) == 0 && class_number(s + 6, C - 1, &v))
        return v;
    if (class_number(s, C - 1, &v))
        return v;
    return -1;
}

const char *axf_labels_describe(const axf_config *c, char *buf, size_t size)
{
    int C = c->num_labels, named = 0;
    for (int i = 0; i < C; i++)
        named += c->labels[i][0] != 0;
    char full[AXF_MAX_LABELS * 72 + 32];
    size_t o = (size_t)snprintf(full, sizeof full, "0..%d", C - 1);
    for (int i = 0; named && i < C; i++) {
        char name[64];
        if (c->labels[i][0])
            axf_escape_str(name, sizeof name, c->labels[i]);
        else
            snprintf(name, sizeof name, "%d", i);
        o += (size_t)snprintf(full + o, sizeof full - o, "%s%s%s", i ? ", " : " (", name, i == C - 1 ? ")" : "");
    }
    if (size == 0)
        return buf;
    if (o < size) {
        memcpy(buf, full, o + 1);
        return buf;
    }
    size_t k = size >= 5 ? size - 5 : 0; /* room for "...)" */
    while (k > 0 && ((unsigned char)full[k] & 0xc0) == 0x80)
        k--; /* do not cut a UTF-8 sequence */
    memcpy(buf, full, k);
    snprintf(buf + k, size - k, "%s", "...)");
    return buf;
}

/* Tokenizer: vocabulary files, basic tokenizer on hand-worked cases (accents, CJK, punctuation,
 * cleaning, Unicode case rules), WordPiece against the real bert-base-uncased vocab.txt, pair
 * encoding with longest-first truncation, and invalid UTF-8.
 * usage: test_io_tokenizer DATA_DIR */
#include "axf/tokenizer.h"
#include "check.h"
#include "io_testutil.h"

typedef struct {
    char buf[2048];
    int n;
} words;

static void collect(const char *w, int len, void *ud)
{
    words *s = ud;
    size_t used = strlen(s->buf);
    if (used + (size_t)len + 2 >= sizeof s->buf)
        return; /* long fuzz output: keep what fits */
    if (s->n)
        strcat(s->buf, "|");
    strncat(s->buf, w, (size_t)len);
    s->n++;
}

/* Words of text joined by '|'. */
static const char *basic(const char *text, int lower)
{
    static words s;
    memset(&s, 0, sizeof s);
    axf_err err;
    if (axf_basic_tokenize(text, lower, collect, &s, &err) != 0)
        return "ERROR";
    return s.buf;
}

#define CHECK_WORDS(text, lower, want) do { const char *_g = basic(text, lower); \
    CHECK_MSG(strcmp(_g, want) == 0, "basic(\"%s\") = \"%s\", want \"%s\"", text, _g, want); } while (0)

/* ids of the space-separated pieces in want, looked up in v */
static int piece_ids(const axf_vocab *v, const char *want, int *ids)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", want);
    int n = 0;
    for (char *t = strtok(buf, " "); t; t = strtok(NULL, " ")) {
        ids[n] = axf_vocab_id(v, t);
        CHECK_MSG(ids[n] >= 0, "piece '%s' not in the vocabulary", t);
        n++;
    }
    return n;
}

static void check_wp(const axf_vocab *v, const char *text, const char *want)
{
    int got[256], exp[256];
    axf_err err;
    int n = axf_wordpiece(v, text, 1, got, 256, &err);
    int m = piece_ids(v, want, exp);
    int same = n == m;
    for (int i = 0; same && i < n; i++)
        same = got[i] == exp[i];
    if (!same) {
        char g[1024] = "";
        for (int i = 0; i < n; i++) {
            strcat(g, axf_vocab_token(v, got[i]));
            strcat(g, " ");
        }
        CHECK_MSG(0, "wordpiece(\"%s\") = %s, want %s", text, g, want);
    } else {
        CHECK(1);
    }
}

static void test_basic(void)
{
    CHECK_WORDS("Café", 1, "cafe");
    CHECK_WORDS("Café", 0, "Café");
    CHECK_WORDS("Hello, world!", 1, "hello|,|world|!");
    CHECK_WORDS("Hello, world!", 0, "Hello|,|world|!");
    CHECK_WORDS("你好world", 1, "你|好|world");
    CHECK_WORDS("a\xe4\xb8\x80" "b \xf0\xa0\x80\x80", 1, "a|一|b|𠀀"); /* U+4E00, U+20000 */
    CHECK_WORDS("naïve  RÉSUMÉ\t\nfoo\r\n", 1, "naive|resume|foo");
    CHECK_WORDS("don't", 1, "don|'|t");
    CHECK_WORDS("$5+3=8 ~x^`|", 1, "$|5|+|3|=|8|~|x|^|`||");
    CHECK_WORDS("¿Qué? «oui»", 1, "¿|que|?|«|oui|»");
    CHECK_WORDS("x\xe3\x80\x82y", 1, "x|。|y"); /* U+3002 is Po */
    CHECK_WORDS("a\x01" "b co\xc2\xad" "op \xe2\x80\x8bx", 1, "ab|coop|x"); /* C0, soft hyphen, ZWSP */
    CHECK_WORDS("a\xef\xbf\xbd" "b", 1, "ab");                              /* U+FFFD dropped */
    CHECK_WORDS("a\xc2\xa0" "b\xe2\x80\x83" "c\xe2\x80\xa8" "d", 1, "a|b|c|d"); /* NBSP, EM SPACE, LS */
    CHECK_WORDS("ΟΔΟΣ ΣΑ.Σ", 1, "οδος|σα|.|ς");                             /* Python's final sigma */
    CHECK_WORDS("İstanbul", 1, "istanbul");
    CHECK_WORDS("Ångström ÆØ ß", 1, "angstrom|æø|ß");
    CHECK_WORDS("\xef\xac\x81ne", 1, "\xef\xac\x81ne"); /* ligature fi: no canonical decomposition */
    CHECK_WORDS("e\xcc\x81\xcc\xa3", 1, "e");           /* combining marks only vanish */
    CHECK_WORDS("\xcc\x81", 1, "");
    CHECK_WORDS("", 1, "");
    CHECK_WORDS("   \t\n ", 1, "");
    CHECK_WORDS("\xea\xb0\x80", 1, "\xe1\x84\x80\xe1\x85\xa1"); /* Hangul GA -> L + V jamo */
    CHECK_WORDS("\xea\xb0\x80", 0, "\xea\xb0\x80");

    axf_err err;
    static const char *bad[] = {"\xff", "ab\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                                "a\xe2\x82", "\x80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        words s = {{0}, 0};
        CHECK_MSG(axf_basic_tokenize(bad[i], 1, collect, &s, &err) == -1, "invalid UTF-8 %zu accepted", i);
        CHECK(strstr(err.msg, "invalid UTF-8") != NULL);
    }
}

static void test_vocab_files(const char *tmp)
{
    axf_err err;
    const char *toks[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "##lo", "hel", "x", "hello", "é"};
    axf_vocab *v = axf_vocab_from_list(toks, 10, &err);
    CHECK(v && axf_vocab_size(v) == 10);
    CHECK(axf_vocab_id(v, "hello") == 8); /* a repeated token maps to its last line, as HF's dict */
    CHECK(axf_vocab_id(v, "nope") == -1 && axf_vocab_id(v, "") == -1);
    axf_special sp = axf_vocab_special(v);
    CHECK(sp.pad == 0 && sp.unk == 1 && sp.cls == 2 && sp.sep == 3 && sp.mask == -1);
    CHECK(strcmp(axf_vocab_token(v, 9), "é") == 0 && axf_vocab_token(v, 10) == NULL &&
          axf_vocab_token(v, -1) == NULL);
    char *p = tu_path(tmp, "v.txt");
    CHECK(axf_vocab_save(v, p, &err) == 0);
    axf_vocab *w = axf_vocab_load(p, &err);
    CHECK(w && axf_vocab_size(w) == 10);
    for (int i = 0; w && i < 10; i++)
        CHECK(strcmp(axf_vocab_token(w, i), toks[i]) == 0);
    int ids[8];
    /* "hello" whole; "hellolo" -> hello ##lo; "helx" has no ##x -> [UNK] */
    CHECK(w && axf_wordpiece(w, "hellolo helx", 1, ids, 8, &err) == 3 && ids[0] == 8 && ids[1] == 5 &&
          ids[2] == 1);
    axf_vocab_free(w);
    axf_vocab_free(v);

    const char *nl[] = {"a", "b\nc"};
    CHECK(axf_vocab_from_list(nl, 2, &err) == NULL && strstr(err.msg, "token 1"));
    CHECK(axf_vocab_from_list(nl, 0, &err) == NULL);
    tu_write_str(p, "[PAD]\n[UNK]\nab\xff\n");
    CHECK(axf_vocab_load(p, &err) == NULL && strstr(err.msg, "v.txt:3: invalid UTF-8"));
    tu_write_str(p, "");
    CHECK(axf_vocab_load(p, &err) == NULL && strstr(err.msg, "empty vocabulary"));
    /* issue 13: a vocab.txt unfit for encoding is blamed here, not on the first data file */
    tu_write_str(p, "[PAD]\n[UNK]\n[SEP]\nhello\n");
    CHECK(axf_vocab_load(p, &err) == NULL && strstr(err.msg, "v.txt: no [CLS] token"));
    tu_write_str(p, "[PAD]\n[UNK]\n[CLS]\nhello\n");
    CHECK(axf_vocab_load(p, &err) == NULL && strstr(err.msg, "v.txt: no [SEP] token"));
    tu_write_str(p, "[PAD]\n[CLS]\n[SEP]\nhello\n"); /* [UNK] lost: every later id one lower */
    CHECK(axf_vocab_load(p, &err) == NULL && strstr(err.msg, "v.txt: no [UNK] token"));
    tu_write_str(p, "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\nhello\r\n"); /* CRLF reads as Python's text mode */
    w = axf_vocab_load(p, &err);
    CHECK_MSG(w && axf_vocab_size(w) == 5 && axf_vocab_id(w, "hello") == 4 && axf_vocab_special(w).sep == 3,
              "%s", w ? "CRLF ids" : err.msg);
    axf_vocab_free(w);
    tu_write_str(p, "[PAD]\r[UNK]\r[CLS]\r[SEP]\r");
    CHECK(axf_vocab_load(p, &err) == NULL && strstr(err.msg, "v.txt:1: carriage return inside a token"));
    CHECK(axf_vocab_load(tu_path(tmp, "missing.txt"), &err) == NULL && strstr(err.msg, "missing.txt"));
    /* a vocabulary without [UNK]: unknown words are an error, not a -1 id */
    const char *nounk[] = {"[CLS]", "[SEP]", "a"};
    v = axf_vocab_from_list(nounk, 3, &err);
    CHECK(axf_wordpiece(v, "a", 1, ids, 8, &err) == 1 && ids[0] == 2);
    CHECK(axf_wordpiece(v, "b", 1, ids, 8, &err) == -1 && strstr(err.msg, "[UNK]"));
    axf_vocab_free(v);
}

static void test_bert_vocab(const char *data_dir)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/bert_base_uncased_vocab/vocab.txt", data_dir);
    axf_err err;
    axf_vocab *v = axf_vocab_load(path, &err);
    CHECK_MSG(v != NULL, "%s", err.msg);
    if (!v)
        return;
    CHECK(axf_vocab_size(v) == 30522);
    axf_special sp = axf_vocab_special(v);
    CHECK(sp.pad == 0 && sp.unk == 100 && sp.cls == 101 && sp.sep == 102 && sp.mask == 103);
    CHECK(axf_vocab_id(v, "[unused99]") == 104 && strcmp(axf_vocab_token(v, 30521), "##～") == 0);

    /* the Hugging Face documentation example */
    int ids[64], types[64];
    int n = axf_encode_pair(v, "Hello, my dog is cute", NULL, 1, 64, ids, types, &err);
    static const int want[] = {101, 7592, 1010, 2026, 3899, 2003, 10140, 102};
    CHECK(n == 8);
    for (int i = 0; i < 8 && n == 8; i++)
        CHECK(ids[i] == want[i] && types[i] == 0);

    check_wp(v, "unaffable", "una ##ffa ##ble"); /* greedy longest match with this vocab */
    check_wp(v, "tokenization", "token ##ization");
    check_wp(v, "HuggingFace", "hugging ##face");
    check_wp(v, "Café crème", "cafe cr ##eme");
    check_wp(v, "don't!", "don ' t !");
    check_wp(v, "x\xf0\x9f\x98\x80y", "[UNK]"); /* no piece for the emoji: whole word unknown */
    check_wp(v, "a x\xf0\x9f\x98\x80y b", "a [UNK] b");
    /* CJK: every ideograph is its own word */
    int cjk[8];
    n = axf_wordpiece(v, "你好", 1, cjk, 8, &err);
    int e0 = axf_vocab_id(v, "你"), e1 = axf_vocab_id(v, "好");
    CHECK(n == 2 && cjk[0] == (e0 >= 0 ? e0 : 100) && cjk[1] == (e1 >= 0 ? e1 : 100));
    n = axf_wordpiece(v, "東京 is big", 1, cjk, 8, &err);
    CHECK(n == 4 && cjk[2] == axf_vocab_id(v, "is") && cjk[3] == axf_vocab_id(v, "big"));

    /* 100 characters are WordPieced, 101 are [UNK] */
    char longw[256];
    memset(longw, 'a', 100);
    longw[100] = 0;
    int many[128];
    n = axf_wordpiece(v, longw, 1, many, 128, &err);
    CHECK(n > 1);
    for (int i = 0; i < n; i++)
        CHECK(many[i] != 100);
    memset(longw, 'a', 101);
    longw[101] = 0;
    CHECK(axf_wordpiece(v, longw, 1, many, 128, &err) == 1 && many[0] == 100);
    /* 100 two-byte characters: counted in characters, not bytes */
    char acc[256] = "";
    for (int i = 0; i < 100; i++)
        strcat(acc, "é");
    n = axf_wordpiece(v, acc, 1, many, 128, &err);
    CHECK(n > 1 && many[0] != 100);
    /* cap */
    CHECK(axf_wordpiece(v, "a b c d e", 1, many, 2, &err) == 2);
    CHECK(axf_wordpiece(v, "a \xff", 1, many, 8, &err) == -1 && strstr(err.msg, "invalid UTF-8"));

    /* pair encoding with longest-first truncation */
    const char *a10 = "a b c d e f g h i j", *b3 = "x y z";
    n = axf_encode_pair(v, a10, b3, 1, 11, ids, types, &err);
    CHECK(n == 11);
    CHECK(ids[0] == 101 && ids[1] == axf_vocab_id(v, "a") && ids[5] == axf_vocab_id(v, "e") &&
          ids[6] == 102 && ids[7] == axf_vocab_id(v, "x") && ids[9] == axf_vocab_id(v, "z") &&
          ids[10] == 102);
    for (int i = 0; i < n; i++)
        CHECK(types[i] == (i >= 7));
    n = axf_encode_pair(v, "a b c d", "w x y z", 1, 9, ids, types, &err); /* equal: second first */
    CHECK(n == 9 && ids[3] == axf_vocab_id(v, "c") && ids[4] == 102 && ids[7] == axf_vocab_id(v, "y") &&
          ids[8] == 102);
    n = axf_encode_pair(v, "a b", "w x y z", 1, 7, ids, types, &err);  /* trims the second */
    CHECK(n == 7 && ids[3] == 102 && ids[4] == axf_vocab_id(v, "w") && ids[5] == axf_vocab_id(v, "x"));
    n = axf_encode_pair(v, a10, NULL, 1, 5, ids, types, &err);
    CHECK(n == 5 && ids[3] == axf_vocab_id(v, "c") && ids[4] == 102);
    n = axf_encode_pair(v, "", "", 1, 8, ids, types, &err);
    CHECK(n == 3 && ids[0] == 101 && ids[1] == 102 && ids[2] == 102 && types[2] == 1);
    CHECK(axf_encode_pair(v, a10, b3, 1, 2, ids, types, &err) == -1 && strstr(err.msg, "max_len 2"));
    CHECK(axf_encode_pair(v, a10, NULL, 1, 2, ids, types, &err) == 2);
    CHECK(axf_encode_pair(v, a10, "\xc3(", 1, 20, ids, types, &err) == -1);
    axf_vocab_free(v);
}

/* Random bytes and random valid UTF-8: either words or a clean error, never a crash (ASan build). */
static void test_fuzz(void)
{
    axf_rng r;
    axf_rng_seed(&r, 5);
    const char *toks[] = {"[UNK]", "[CLS]", "[SEP]", "a", "##b", "ab"};
    axf_err err;
    axf_vocab *v = axf_vocab_from_list(toks, 6, &err);
    int ok = 0, bad = 0, ids[64], types[64];
    for (int it = 0; it < 4000; it++) {
        unsigned char buf[200];
        int n = axf_rng_below(&r, 199);
        for (int i = 0; i < n; i++) {
            int kind = axf_rng_below(&r, 4);
            buf[i] = (unsigned char)(kind == 0 ? 'a' + axf_rng_below(&r, 3)
                                     : kind == 1 ? 0x80 + axf_rng_below(&r, 0x80)
                                     : kind == 2 ? 0xC0 + axf_rng_below(&r, 0x40)
                                                 : 1 + axf_rng_below(&r, 0x7f));
        }
        if (it % 3 == 0) { /* valid UTF-8 from random code points instead */
            n = 0;
            while (n < 190) {
                uint32_t c = (uint32_t)axf_rng_below(&r, it % 2 ? 0x3000 : 0x110000);
                if (c >= 0xD800 && c <= 0xDFFF)
                    continue;
                if (c < 0x80)
                    buf[n++] = (unsigned char)(c ? c : ' ');
                else if (c < 0x800)
                    buf[n++] = (unsigned char)(0xC0 | (c >> 6)), buf[n++] = (unsigned char)(0x80 | (c & 63));
                else if (c < 0x10000)
                    buf[n++] = (unsigned char)(0xE0 | (c >> 12)), buf[n++] = (unsigned char)(0x80 | ((c >> 6) & 63)),
                    buf[n++] = (unsigned char)(0x80 | (c & 63));
                else
                    buf[n++] = (unsigned char)(0xF0 | (c >> 18)), buf[n++] = (unsigned char)(0x80 | ((c >> 12) & 63)),
                    buf[n++] = (unsigned char)(0x80 | ((c >> 6) & 63)), buf[n++] = (unsigned char)(0x80 | (c & 63));
            }
        }
        buf[n] = 0;
        words s = {{0}, 0};
        int rc = axf_basic_tokenize((char *)buf, it & 1, collect, &s, &err);
        rc |= axf_encode_pair(v, (char *)buf, it & 2 ? "a b" : NULL, 1, 64, ids, types, &err) < 0 ? -1 : 0;
        if (rc == 0)
            ok++;
        else
            bad++;
    }
    CHECK(ok > 0 && bad > 0);
    printf("fuzz: %d texts tokenized, %d refused\n", ok, bad);
    axf_vocab_free(v);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_io_tokenizer DATA_DIR\n");
        return 2;
    }
    char *tmp = tu_tmpdir();
    test_basic();
    test_vocab_files(tmp);
    test_bert_vocab(argv[1]);
    test_fuzz();
    tu_rmdir(tmp);
    return CHECK_DONE();
}

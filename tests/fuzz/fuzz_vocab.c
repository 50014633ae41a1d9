/* Fuzz target: vocab.txt (axf_vocab_load); an accepted vocabulary then tokenizes fixed sentences
 * and the input's own first bytes (WordPiece over whatever tokens it holds). */
#include "axf/tokenizer.h"
#include "fuzz_util.h"

static const char *const texts[] = {
    "Hello, world! It's a test.", "unaffable naïve café — ÀÉÎ ß 中文字 😀", "", "   ",
    "a ##b [CLS] [SEP] [UNK] [MASK] [PAD]", "x\ty\r\nz"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_write("vocab.txt", data, size);
    axf_err err;
    axf_vocab *v = axf_vocab_load(path, &err);
    if (!v)
        return 0;
    fz_accepted++;
    int n = axf_vocab_size(v);
    for (int i = 0; i < n && i < 4096; i++) {
        const char *t = axf_vocab_token(v, i);
        if (!t || axf_vocab_id(v, t) < 0)
            abort(); /* every token maps back to an id (its last line when repeated) */
    }
    axf_special sp = axf_vocab_special(v);
    (void)sp;
    int ids[64], types[64];
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        for (int lower = 0; lower < 2; lower++) {
            int k = axf_encode_pair(v, texts[i], texts[(i + 1) % 6], lower, 64, ids, types, &err);
            for (int j = 0; j < k; j++)
                if (ids[j] < 0 || ids[j] >= n)
                    abort();
        }
    char text[201];
    size_t tn = size < 200 ? size : 200;
    memcpy(text, data, tn);
    text[tn] = 0;
    axf_wordpiece(v, text, 1, ids, 64, &err);
    axf_vocab_free(v);
    return 0;
}

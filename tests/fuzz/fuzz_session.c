/* Fuzz target: session files (axf_session_load against the fixture model and data: the seeds pin
 * the fixture's sha256, so mutations reach past the identity checks), then saved again, undone
 * and redone. */
#include "axf/session.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const fz_fixture *fx = fz_fixture_once();
    const char *path = fz_write("session.json", data, size);
    axf_session_opts o = axf_session_opts_default();
    o.threads = 1;
    axf_err err;
    axf_session *s = axf_session_load(path, fx->model, fx->data, NULL, &o, &err);
    if (!s)
        return 0;
    fz_accepted++;
    char out[200];
    snprintf(out, sizeof out, "%s/saved.json", fz_dir());
    unlink(out);
    if (axf_session_save(s, out, &err))
        abort(); /* a session that loaded can be written */
    int n = axf_session_history_len(s);
    if (axf_session_cursor(s) > n)
        abort();
    if (n > 0 && axf_session_goto(s, 0, &err) == 0)
        axf_session_goto(s, n, &err);
    axf_session_free(s);
    return 0;
}

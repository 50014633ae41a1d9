/* Fuzz target: Lua policy loading (axf_luahost_load_string: the sandboxed top level, params and
 * their JSON), then up to three steps with a small budget, memory cap and time limit over the
 * fixture session. A runaway beyond the limits shows up as a libFuzzer timeout. */
#include "axf/luahost.h"
#include "axf/session.h"
#include "fuzz_util.h"

static axf_session *g_s;
static int g_uses;

static void open_session(void)
{
    const fz_fixture *fx = fz_fixture_once();
    axf_session_free(g_s);
    axf_session_opts o = axf_session_opts_default();
    o.threads = 1;
    o.max_len = 16;         /* buffers sized for the fixture: fewer page faults per evaluation */
    o.batch = 16;
    o.cache_bytes = 1 << 20;
    axf_err err;
    g_s = axf_session_open(fx->model, fx->data, &o, &err);
    if (!g_s) {
        fprintf(stderr, "fuzz_policy: %s\n", err.msg);
        abort();
    }
    g_uses = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_s || ++g_uses > 200) /* the trial journal grows with every try */
        open_session();
    axf_luahost_opts o = axf_luahost_opts_default();
    o.budget = 200000;
    o.seconds = 0.5;
    o.mem_cap = (size_t)8 << 20;
    axf_err err;
    axf_luahost *h = axf_luahost_new(g_s, &o, &err);
    if (!h)
        abort();
    static const char *const sets[] = {"K=3", "rule=loss"};
    int n_sets = size % 4 == 0 ? 2 : 0; /* overrides for a quarter of the inputs */
    if (axf_luahost_load_string(h, "fuzz.lua", (const char *)data, size, sets, n_sets, &err) == 0) {
        fz_accepted++;
        for (int i = 0; i < 3 && axf_luahost_step(h, &err) == AXF_LUA_STEPPED; i++)
            ;
    } else if (getenv("AXF_FUZZ_VERBOSE")) {
        fprintf(stderr, "refused: %s\n", err.msg);
    }
    axf_luahost_free(h);
    axf_session_goto(g_s, 0, &err);
    return 0;
}

/* Declared policy parameters: reading the `params` table (types from the defaults), applying
 * --set KEY=VALUE overrides with type checks, and the JSON text the session records. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua_internal.h"

void axf_lua_params_free(axf_luahost *h)
{
    for (int i = 0; i < h->n_params; i++) {
        AXF_FREE(h->params[i].name, h->params[i].value, h->params[i].def, h->params[i].doc);
    }
    free(h->params);
    h->params = NULL;
    h->n_params = 0;
    free(h->params_json);
    h->params_json = NULL;
}

static char *fmt_number(lua_State *L, int idx)
{
    char buf[64];
    if (lua_isinteger(L, idx)) {
        snprintf(buf, sizeof buf, "%lld", (long long)lua_tointeger(L, idx));
    } else {
        double d = lua_tonumber(L, idx);
        snprintf(buf, sizeof buf, "%.15g", d);
        if (strtod(buf, NULL) != d)
            snprintf(buf, sizeof buf, "%.17g", d);
        if (!strpbrk(buf, ".eEn"))
            strcat(buf, ".0"); /* stays a float when read back */
    }
    return axf_xstrdup(buf);
}

static char *value_text(lua_State *L, int idx, axf_lua_param_type t)
{
    switch (t) {
    case AXF_LUA_PARAM_BOOL:
        return axf_xstrdup(lua_toboolean(L, idx) ? "true" : "false");
    case AXF_LUA_PARAM_STRING:
        return axf_xstrdup(lua_tostring(L, idx));
    default:
        return fmt_number(L, idx);
    }
}

static int valid_name(const char *s)
{
    if (!*s || !(isalpha((unsigned char)*s) || *s == '_'))
        return 0;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return 0;
    return 1;
}

static int cmp_param(const void *a, const void *b)
{
    return strcmp(((const axf_lua_pdecl *)a)->name, ((const axf_lua_pdecl *)b)->name);
}

static int pindex(axf_luahost *h, const char *name, size_t len)
{
    for (int i = 0; i < h->n_params; i++)
        if (strlen(h->params[i].name) == len && !strncmp(h->params[i].name, name, len))
            return i;
    return -1;
}

static int parse_override(lua_State *L, axf_luahost *h, int pt, const char *set)
{
    const char *eq = strchr(set, '=');
    if (!eq || eq == set)
        return luaL_error(L, "--set %s: expected KEY=VALUE", set);
    size_t kl = (size_t)(eq - set);
    const char *v = eq + 1;
    int i = pindex(h, set, kl);
    if (i < 0) {
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        for (int j = 0; j < h->n_params; j++) {
            if (j)
                luaL_addstring(&b, ", ");
            luaL_addstring(&b, h->params[j].name);
        }
        if (!h->n_params)
            luaL_addstring(&b, "none");
        luaL_pushresult(&b);
        char key[80];
        snprintf(key, sizeof key, "%.*s", (int)(kl > 64 ? 64 : kl), set);
        return luaL_error(L, "--set %s: unknown parameter %s (declared: %s)", set, key,
                          lua_tostring(L, -1));
    }
    axf_lua_pdecl *p = &h->params[i];
    lua_pushstring(L, p->name);
    char *end;
    errno = 0;
    switch (p->type) {
    case AXF_LUA_PARAM_INT: {
        long long x = strtoll(v, &end, 10);
        if (!*v || *end || errno)
            return luaL_error(L, "--set %s: parameter %s is an integer (default %s)", set, p->name,
                              p->def);
        lua_pushinteger(L, x);
        break;
    }
    case AXF_LUA_PARAM_NUMBER: {
        double x = strtod(v, &end);
        if (!*v || *end || errno || !isfinite(x))
            return luaL_error(L, "--set %s: parameter %s is a number (default %s)", set, p->name,
                              p->def);
        lua_pushnumber(L, x);
        break;
    }
    case AXF_LUA_PARAM_BOOL: {
        int x;
        if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "on"))
            x = 1;
        else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "off"))
            x = 0;
        else
            return luaL_error(L, "--set %s: parameter %s is a boolean (true/false; default %s)",
                              set, p->name, p->def);
        lua_pushboolean(L, x);
        break;
    }
    default:
        lua_pushstring(L, v);
        break;
    }
    free(p->value);
    p->value = value_text(L, -1, p->type);
    lua_rawset(L, pt);
    return 0;
}

static void json_str(axf_sbuf *b, const char *s)
{
    axf_sbuf_add(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            axf_sbuf_add(b, e, 2);
        } else if (c < 0x20) {
            axf_sbuf_printf(b, "\\u%04x", c);
        } else {
            axf_sbuf_add(b, (const char *)&c, 1);
        }
    }
    axf_sbuf_add(b, "\"", 1);
}

int axf_lua_read_params(lua_State *L, axf_luahost *h, int g, const char *const *sets, int n_sets)
{
    lua_pushliteral(L, "params");
    int ty = lua_rawget(L, g);
    if (ty == LUA_TNIL) {
        lua_pop(L, 1);
        lua_newtable(L); /* a policy without parameters */
        lua_pushliteral(L, "params");
        lua_pushvalue(L, -2);
        lua_rawset(L, g);
    } else if (ty != LUA_TTABLE) {
        return luaL_error(L, "params must be a table of defaults (got %s)", lua_typename(L, ty));
    }
    int pt = lua_gettop(L);
    if (lua_getmetatable(L, pt))
        return luaL_error(L, "params must be a plain table (it has a metatable)");
    lua_pushliteral(L, "params_doc");
    int dty = lua_rawget(L, g);
    int dt = dty == LUA_TTABLE ? lua_gettop(L) : 0;
    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, pt)) {
        lua_pop(L, 1);
        if (++n > 256)
            return luaL_error(L, "params: more than 256 parameters");
    }
    h->params = axf_xcalloc((size_t)(n ? n : 1), sizeof *h->params);
    lua_pushnil(L);
    while (lua_next(L, pt)) {
        if (lua_type(L, -2) != LUA_TSTRING || !valid_name(lua_tostring(L, -2)))
            return luaL_error(L, "params: keys must be identifiers (got %s %s)",
                              luaL_typename(L, -2),
                              lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "");
        const char *name = lua_tostring(L, -2);
        axf_lua_param_type t;
        int vt = lua_type(L, -1);
        if (vt == LUA_TBOOLEAN)
            t = AXF_LUA_PARAM_BOOL;
        else if (vt == LUA_TNUMBER && lua_isinteger(L, -1))
            t = AXF_LUA_PARAM_INT;
        else if (vt == LUA_TNUMBER)
            t = AXF_LUA_PARAM_NUMBER;
        else if (vt == LUA_TSTRING)
            t = AXF_LUA_PARAM_STRING;
        else
            return luaL_error(L, "params.%s: a default must be a boolean, number or string (got %s)",
                              name, lua_typename(L, vt));
        if (t == AXF_LUA_PARAM_NUMBER && !isfinite(lua_tonumber(L, -1)))
            return luaL_error(L, "params.%s: a default must be finite", name);
        axf_lua_pdecl *p = &h->params[h->n_params++];
        p->name = axf_xstrdup(name);
        p->type = t;
        p->def = value_text(L, -1, t);
        p->value = axf_xstrdup(p->def);
        p->doc = axf_xstrdup("");
        if (dt) {
            lua_pushstring(L, name);
            if (lua_rawget(L, dt) == LUA_TSTRING) {
                free(p->doc);
                p->doc = axf_xstrdup(lua_tostring(L, -1));
            }
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    qsort(h->params, (size_t)h->n_params, sizeof *h->params, cmp_param);
    for (int i = 0; i < n_sets; i++)
        parse_override(L, h, pt, sets[i]);

    axf_sbuf b = {0};
    axf_sbuf_add(&b, "{", 1);
    for (int i = 0; i < h->n_params; i++) {
        const axf_lua_pdecl *p = &h->params[i];
        if (i)
            axf_sbuf_add(&b, ", ", 2);
        json_str(&b, p->name);
        axf_sbuf_add(&b, ": ", 2);
        if (p->type == AXF_LUA_PARAM_STRING)
            json_str(&b, p->value);
        else
            axf_sbuf_add(&b, p->value, strlen(p->value));
    }
    axf_sbuf_add(&b, "}", 1);
    h->params_json = b.p;
    return pt;
}

int axf_luahost_param_count(const axf_luahost *h) { return h->n_params; }

int axf_luahost_param_get(const axf_luahost *h, int i, axf_lua_param *out)
{
    if (i < 0 || i >= h->n_params)
        return -1;
    const axf_lua_pdecl *p = &h->params[i];
    *out = (axf_lua_param){.name = p->name, .type = p->type, .value = p->value, .def = p->def, .doc = p->doc};
    return 0;
}

const char *axf_luahost_params_json(const axf_luahost *h) { return h->params_json ? h->params_json : "{}"; }

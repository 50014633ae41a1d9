# Helpers for the screen tests: run the real axf binary in a detached tmux server of our own
# (a unique socket per test), send keys, and poll capture-pane for a marker with a generous
# timeout instead of sleeping. Sourced by the tests/tui/*.sh scripts.
#   tui_start COLS ROWS TERM CMD...   start CMD in a COLSxROWS pane (environment: TUI_ENV)
#   tui_wait TEXT [SECONDS]           wait until the screen contains TEXT (fixed string)
#   tui_gone TEXT [SECONDS]           wait until the screen no longer contains TEXT
#   tui_keys KEY...                   tmux send-keys
#   tui_screen                        print the screen;  tui_exit_code  after the program ended
# The server is killed on exit (trap), whatever happens.

if ! command -v tmux >/dev/null 2>&1; then
    echo "SKIP: tmux is not installed"
    exit 77
fi

# every tui_start gets a socket of its own: a server just killed may still hold its socket while it
# exits, and a new server on the same one then dies at start ("server exited unexpectedly")
TUI_SOCK_BASE="axf-tui-$(basename "$0" .sh)-$$"
TUI_N=0
TUI_SOCK="$TUI_SOCK_BASE-0"
TUI_TMP=$(mktemp -d "${TMPDIR:-/tmp}/axf-tui-XXXXXX")
tui_cleanup() {
    local i
    for i in $(seq 0 "$TUI_N"); do
        tmux -L "$TUI_SOCK_BASE-$i" kill-server >/dev/null 2>&1
        rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$TUI_SOCK_BASE-$i"   # the server leaves its socket file
    done
    rm -rf "$TUI_TMP"
}
trap tui_cleanup EXIT

tui_fail() {
    echo "FAIL: $*" >&2
    echo "---- screen ----" >&2
    tui_screen >&2
    echo "----------------" >&2
    exit 1
}

tui_start() {
    local cols=$1 rows=$2 term=$3
    shift 3
    tmux -L "$TUI_SOCK" kill-server >/dev/null 2>&1
    TUI_N=$((TUI_N + 1))
    TUI_SOCK="$TUI_SOCK_BASE-$TUI_N"
    # the pane stays after the program exits, showing its exit status
    local cmd="" a
    for a in "$@"; do cmd="$cmd '$(printf %s "$a" | sed "s/'/'\\\\''/g")'"; done
    # the program's pid goes to $TUI_TMP/pid (sh execs it), for tui_pid
    tmux -L "$TUI_SOCK" -f /dev/null new-session -d -x "$cols" -y "$rows" \
        "env TERM=$term XDG_STATE_HOME=$TUI_TMP/state XDG_CACHE_HOME=${TUI_CACHE:-$TUI_TMP/cache} ${TUI_ENV:-} sh -c 'echo \$\$ > \"\$0\"; exec \"\$@\"' $TUI_TMP/pid $cmd 2>$TUI_TMP/stderr; echo \"AXF-EXIT-\$?\"; sleep 100000" ||
        { echo "FAIL: cannot start tmux" >&2; exit 1; }
}

tui_screen() {
    tmux -L "$TUI_SOCK" capture-pane -p 2>/dev/null
}

# tui_wait TEXT [SECONDS]
tui_wait() {      # TEXT [SECONDS]: until the screen shows TEXT
    _tui_wait -F "$@"
}
tui_wait_re() {   # REGEX [SECONDS]: until the screen matches the extended regex
    _tui_wait -E "$@"
}
_tui_wait() {
    local how=$1 text=$2 limit=${3:-60} start
    start=$(date +%s)
    while :; do
        if tui_screen | grep -q "$how" -- "$text"; then
            return 0
        fi
        if tui_screen | grep -q "AXF-EXIT-" && ! printf %s "$text" | grep -q "AXF-EXIT-"; then
            cat "$TUI_TMP/stderr" >&2 2>/dev/null
            tui_fail "the program exited while waiting for '$text'"
        fi
        if [ $(( $(date +%s) - start )) -ge "$limit" ]; then
            tui_fail "timeout (${limit}s) waiting for '$text'"
        fi
        sleep 0.1
    done
}

tui_gone() {
    local text=$1 limit=${2:-60} start
    start=$(date +%s)
    while tui_screen | grep -qF -- "$text"; do
        if [ $(( $(date +%s) - start )) -ge "$limit" ]; then
            tui_fail "timeout (${limit}s) waiting for '$text' to go away"
        fi
        sleep 0.1
    done
}

tui_keys() {
    tmux -L "$TUI_SOCK" send-keys "$@"
}

# The heatmap's state only: each layer row with every glyph that is not a removal mark or a
# hard-attention label turned into '.', so two screens of the same plan compare equal whatever
# importance colours they show.
tui_plan_rows() {
    tui_screen | grep -E '^│ L[0-9]+ ' | sed -E 's/^│ (L[0-9]+) +//; s/[^×x0-9kpr │]/./g; s/│.*//'
}

# json_get FILE KEY: a top-level value of a JSON file
json_get() {
    python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

# tui_wait_plan CMD: wait until the heatmap rows (tui_plan_rows) satisfy the shell test CMD, which
# reads them from $ROWS, e.g. tui_wait_plan '! printf %s "$ROWS" | grep -q ×'
tui_wait_plan() {
    local cond=$1 limit=${2:-60} start ROWS
    start=$(date +%s)
    while :; do
        ROWS=$(tui_plan_rows)
        if eval "$cond"; then
            return 0
        fi
        if [ $(( $(date +%s) - start )) -ge "$limit" ]; then
            tui_fail "timeout (${limit}s) waiting for the heatmap: $cond"
        fi
        sleep 0.1
    done
}

# tui_max_cols: the widest line of the screen, in characters
tui_max_cols() {
    tui_screen | python3 -c 'import sys; print(max(len(l.rstrip("\n")) for l in sys.stdin))'
}

# tui_pid: the process id of the program in the pane
tui_pid() {
    cat "$TUI_TMP/pid"
}

# tui_quit_unsaved: q, answer the unsaved-changes question with q, wait for exit status 0
tui_quit_unsaved() {
    tui_keys q
    tui_wait "Unsaved changes"
    tui_keys q
    tui_wait "AXF-EXIT-0" 30
}

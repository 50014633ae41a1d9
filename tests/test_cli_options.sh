#!/bin/sh
# Every command's options come from one table (src/cli/opt.c): `axf CMD --help` lists each option
# the command takes, each listed option is one the parser knows, and a bad value is a one-line usage
# error (exit 2) naming the option and the value.
# usage: test_cli_options.sh AXF TMP_DIR
axf=$1 tmp=$2
mkdir -p "$tmp" || exit 1
fail=0
bad() { echo "FAIL $*"; fail=1; }

for c in predict eval pretrain finetune distill demo-model search replay export export-onnx importance tui demo \
         report bench; do
    "$axf" $c --help >"$tmp/help" 2>"$tmp/err" || bad "$c --help: exit $?"
    head -1 "$tmp/help" | grep -q "^usage: axf $c" || bad "$c --help does not start with its usage line"
    opts=$(sed -n 's/^  \(--[a-z0-9-]*\).*/\1/p' "$tmp/help")
    [ -n "$opts" ] || bad "$c --help lists no options"
    for o in $opts; do
        # the option with a value, then one no command has: parsing stops at a usage error, nothing runs
        "$axf" $c "$o" 1 --zz-not-an-option >"$tmp/out" 2>"$tmp/err"
        rc=$?
        [ $rc = 2 ] || bad "$c $o 1 --zz-not-an-option: exit $rc, expected 2"
        grep -q "unknown option '$o'" "$tmp/err" && bad "$c lists $o in --help but does not take it"
        [ "$(wc -l <"$tmp/err")" = 1 ] || bad "$c $o: usage error of more than one line: $(cat "$tmp/err")"
    done
done

# what predict and eval take is listed by both
for c in predict eval; do
    "$axf" $c --help >"$tmp/help"
    for o in --task --max-len --batch --threads --repeat; do
        grep -q "^  $o " "$tmp/help" || bad "$c --help does not list $o"
    done
done

# a bad value: one line naming the option and the value, exit 2
expect_usage() { # text command...
    want=$1; shift
    "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ $rc = 2 ] || bad "$*: exit $rc, expected 2"
    grep -qF -- "$want" "$tmp/err" || bad "$*: message '$(cat "$tmp/err")' lacks '$want'"
    [ "$(wc -l <"$tmp/err")" = 1 ] || bad "$*: more than one line on stderr"
}
expect_usage "--threads needs an integer in 1..256, not '0'" "$axf" bench --threads 0
expect_usage "--heads needs an integer in 1.." "$axf" pretrain --out "$tmp/p" --heads 0
expect_usage "--lr needs a number in 0..1, not 'fast'" "$axf" finetune --lr fast
expect_usage "--budget needs an integer in 0..9e+18, not '-1'" "$axf" search m d --budget -1
expect_usage "--seed needs a non-negative integer, not '-3'" "$axf" demo-model --out "$tmp/d" --seed -3
expect_usage "--act needs gelu, gelu_tanh or relu, not 'tanh'" "$axf" finetune --act tanh
expect_usage "--kind needs exact, gradient, entropy or magnitude, not 'size'" "$axf" importance m d --kind size
expect_usage "--tol needs a number in (0, 1), not '1'" "$axf" replay s.json --tol 1
expect_usage "--set needs KEY=VALUE, not 'rule'" "$axf" tui m d --set rule
expect_usage "--opset needs an integer in 17..99, not '16'" "$axf" export-onnx m --opset 16
expect_usage "--out needs a value" "$axf" export s.json --out
expect_usage "unknown option '--bogus'" "$axf" eval m d --bogus
expect_usage "unexpected argument 'x'" "$axf" export-onnx m x
expect_usage "--layers: the student's shape and casing come from --student" "$axf" distill --layers 2
# numbers may be written as 1e9 where a whole number is wanted
"$axf" bench --reps 1e3 --zz >/dev/null 2>"$tmp/err"
grep -q "unknown option '--zz'" "$tmp/err" || bad "--reps 1e3 refused: $(cat "$tmp/err")"
# --help anywhere wins over a bad option
"$axf" finetune --bogus --help >/dev/null 2>&1 || bad "finetune --bogus --help: exit $?"

[ $fail = 0 ] && echo "cli options: all checks passed"
exit $fail

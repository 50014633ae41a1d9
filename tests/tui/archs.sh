#!/usr/bin/env bash
# The workbench on DistilBERT and RoBERTa (issue 19 item 3): project models of each architecture
# (axf pretrain --arch, then finetune --init; no Python needed) open in the screen with their
# layers and heads, a policy step runs, the autosaved session replays, and its export keeps the
# architecture's naming.
# usage: archs.sh AXF DATA_DIR SCRIPTS_DIR
set -u
AXF=$1 DATA=$2 SCRIPTS=$3
. "$(dirname "$0")/lib.sh"

head -n 801 "$DATA/sst2_glue/alps_train.tsv" > "$TUI_TMP/corpus.tsv"
head -n 201 "$DATA/sst2_glue/alps_train.tsv" > "$TUI_TMP/train.tsv"
{ head -n 1 "$DATA/sst2_glue/dev.tsv"; sed -n '2,41p' "$DATA/sst2_glue/dev.tsv"; } > "$TUI_TMP/search.tsv"
for arch in distilbert roberta; do
    pt=$TUI_TMP/$arch-pt m=$TUI_TMP/$arch
    "$AXF" pretrain --arch "$arch" --out "$pt" --tsv "$TUI_TMP/corpus.tsv" --vocab-size 600 --layers 2 --hidden 32 \
        --heads 4 --ffn 64 --max-len 48 --max-pos 64 --steps 20 --batch 16 --threads 1 >/dev/null 2>"$TUI_TMP/err" ||
        { cat "$TUI_TMP/err"; tui_fail "$arch: pretrain"; }
    "$AXF" finetune --init "$pt" --train "$TUI_TMP/train.tsv" --epochs 1 --batch 16 --max-len 48 --threads 1 \
        --out "$m" >/dev/null 2>"$TUI_TMP/err" || { cat "$TUI_TMP/err"; tui_fail "$arch: finetune"; }
    grep -q "\"model_type\":[[:space:]]*\"$arch\"" "$m/config.json" || tui_fail "$arch: config.json is not $arch's"

    auto=$TUI_TMP/$arch-auto.json
    tui_start 100 30 xterm "$AXF" tui "$m" "$TUI_TMP/search.tsv" --policy "$SCRIPTS/random.lua" \
        --set target=elements --set elements=2 --set kinds=heads --autosave "$auto"
    tui_wait "step 0/0" 120
    tui_wait "─ metrics"
    [ "$(tui_plan_rows | wc -l)" -eq 2 ] || tui_fail "$arch: two layer rows expected"
    tui_wait_re "h0 +h1 +h2 +h3"
    tui_keys s
    tui_wait "step 1/1" 120
    tui_keys s
    tui_wait "step 2/2" 120
    [ "$(tui_plan_rows | grep -oE '×+' | wc -l)" -eq 2 ] || tui_fail "$arch: two removed heads expected"
    tui_keys q
    tui_wait "Unsaved changes"
    tui_keys q
    tui_wait "AXF-EXIT-0" 30
    [ -s "$auto" ] || tui_fail "$arch: no autosave"
    "$AXF" replay "$auto" >/dev/null 2>"$TUI_TMP/err" || { cat "$TUI_TMP/err"; tui_fail "$arch: replay of the autosave"; }
    "$AXF" export "$auto" --out "$TUI_TMP/$arch-export" >/dev/null 2>"$TUI_TMP/err" ||
        { cat "$TUI_TMP/err"; tui_fail "$arch: export"; }
    grep -q "\"model_type\":[[:space:]]*\"$arch\"" "$TUI_TMP/$arch-export/config.json" ||
        tui_fail "$arch: the export is not $arch's"
done
echo ok

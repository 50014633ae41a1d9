#!/bin/sh
# Runs a test script with the project's Python environment (.venv, Hugging Face transformers and
# tokenizers, onnxruntime; made or checked by scripts/venv.sh, which is quick when it is up to
# date), so that the tests against the references users trust run on a fresh machine too.
# Skips (exit 77, ctest's SKIP_RETURN_CODE) with a message only when the environment cannot be made
# because PyPI does not answer; any other failure to make it is a failure (exit 1).
# usage: venv_run.sh SCRIPT [ARGS...]
here=$(cd "$(dirname "$0")" && pwd)
if ! py=$(bash "$here/../scripts/venv.sh" --print-python); then
    if index=$(sh "$here/pypi_reachable.sh"); then
        echo "FAIL: scripts/venv.sh could not make .venv although $index answers"
        exit 1
    fi
    echo "skipped: PyPI ($index) is unreachable, so scripts/venv.sh cannot make .venv with transformers"
    exit 77
fi
exec "$py" "$@"

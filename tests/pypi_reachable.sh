#!/bin/sh
# Exit 0 when the package index pip uses (PIP_INDEX_URL, default PyPI) answers within 20 s, else 1.
# The tests that need PyPI (tests/venv_run.sh, tests/models/run_hf.sh) skip only when it does not.
# Prints the index on stdout.
index=${PIP_INDEX_URL:-https://pypi.org/simple}
echo "$index"
/usr/bin/python3 -c 'import sys, urllib.request
urllib.request.urlopen(sys.argv[1].rstrip("/") + "/pip/", timeout=20).read(1)' "$index" 2>/dev/null

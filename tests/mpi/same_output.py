#!/usr/bin/env python3
"""Exit 0 when two outputs of axf are the same apart from times, 1 (naming the first difference)
otherwise, 2 on a usage error or an unreadable file.

usage: same_output.py session A.json B.json   session files, byte for byte once the lines of the
                                              fields "seconds" and "time" are dropped
       same_output.py kv A.txt B.txt          key=value lines (axf eval), the timing keys dropped
       same_output.py text A.txt B.txt        byte for byte, after dropping "seconds":N, "(N.Ns)"
"""
import json
import re
import sys

SESSION_TIMES = re.compile(rb'^\s*"(seconds|time)":\s*[-+0-9.eE]+,?\s*$')
KV_TIMES = {b"examples_per_s", b"tokens_per_s", b"engine_s", b"tokenize_s", b"engine_cpu_s",
            b"tokens_per_cpu_s"}
TEXT_TIMES = [re.compile(rb'"seconds":\s*[-+0-9.eE]+'), re.compile(rb'\([0-9.]+s\)')]


def lines_of(mode, path):
    with open(path, "rb") as f:
        data = f.read()
    if not data:
        raise ValueError("empty")
    lines = data.split(b"\n")
    if mode == "session":
        doc = json.loads(data)
        if doc.get("format") != "axf-session":
            raise ValueError("not an axf session")
        return [l for l in lines if not SESSION_TIMES.match(l)]
    if mode == "kv":
        return [l for l in lines if l.split(b"=", 1)[0] not in KV_TIMES]
    for r in TEXT_TIMES:
        lines = [r.sub(b"", l) for l in lines]
    return lines


def main(argv):
    if len(argv) != 4 or argv[1] not in ("session", "kv", "text"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    mode, a, b = argv[1:]
    try:
        la, lb = lines_of(mode, a), lines_of(mode, b)
    except (OSError, ValueError) as e:
        print(f"same_output: {e}", file=sys.stderr)
        return 2
    for i, (x, y) in enumerate(zip(la, lb)):
        if x != y:
            print(f"same_output: {a} and {b} differ (times aside) at line {i + 1}:\n  {x.decode(errors='replace')}\n"
                  f"  {y.decode(errors='replace')}", file=sys.stderr)
            return 1
    if len(la) != len(lb):
        print(f"same_output: {a} has {len(la)} lines, {b} {len(lb)} (times aside)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

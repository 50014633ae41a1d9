#!/usr/bin/env python3
"""Fails when a source file includes a header of a layer above its own, or another module's
private header. The layer order (docs/DESIGN.md of the shared design, restated here):

    io -> engine -> approx -> train -> search -> lua -> ui -> cli

A file may include public headers (include/axf/*.h) of its own layer or any layer below it,
and private headers (src/<module>/*.h, ui/*.h) of its own module only. Every public header is
assigned to the layer that implements it in PUBLIC below; a new header must be added there
(an unknown header fails the check, so the table cannot go stale silently).

Usage: scripts/tools/check_layers.py [REPO_ROOT]   (exit 0 clean, 1 with one line per violation)
"""
import os
import re
import sys

ORDER = ["io", "engine", "approx", "train", "search", "lua", "ui", "cli"]
RANK = {name: i for i, name in enumerate(ORDER)}

# Public header -> the layer that implements it.
PUBLIC = {
    "common.h": "io", "data.h": "io", "metrics.h": "io", "model.h": "io",
    "safetensors.h": "io", "tokenizer.h": "io", "fileio.h": "io", "labels.h": "io",
    "torchbin.h": "io", "bpe.h": "io",
    "engine.h": "engine", "plan.h": "engine", "quant.h": "engine", "matmul.h": "engine",
    "parallel.h": "engine",
    "compact.h": "approx", "onnx.h": "approx", "export.h": "approx",
    "train.h": "train", "demo.h": "train", "distill.h": "train",
    "session.h": "search", "importance.h": "search", "evalcache.h": "search",
    "sessionfile.h": "search", "resultsfile.h": "search", "dist.h": "search",
    "luahost.h": "lua",
    "ui.h": "ui",
}

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')


def module_of(rel):
    """Layer and module folder of a source file, or None when the file is not checked."""
    parts = rel.split(os.sep)
    if parts[0] == "src" and len(parts) >= 3 and parts[1] in RANK:
        return parts[1], os.path.join("src", parts[1])
    if parts[0] == "ui":
        return "ui", "ui"
    if parts[0] == "include" and len(parts) == 3 and parts[1] == "axf":
        layer = PUBLIC.get(parts[2])
        return (layer, "include/axf") if layer else ("?", "include/axf")
    return None


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", ".."))
    bad = []
    checked = 0
    for top in ("src", "ui", "include"):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for f in sorted(files):
                if not f.endswith((".c", ".h")):
                    continue
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, root)
                where = module_of(rel)
                if where is None:
                    continue
                layer, folder = where
                if layer == "?":
                    bad.append(f"{rel}: public header not assigned to a layer (add it to PUBLIC in {os.path.relpath(__file__, root)})")
                    continue
                checked += 1
                with open(path, encoding="utf-8", errors="replace") as fh:
                    for ln, line in enumerate(fh, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        inc = m.group(1)
                        if inc.startswith("axf/"):
                            name = inc[4:]
                            target = PUBLIC.get(name)
                            if target is None:
                                bad.append(f"{rel}:{ln}: includes {inc}, a header not assigned to a layer")
                            elif RANK[target] > RANK[layer]:
                                bad.append(f"{rel}:{ln}: {layer} includes {inc} of the {target} layer above it")
                            continue
                        # a private header: must resolve inside the file's own folder
                        resolved = os.path.normpath(os.path.join(os.path.dirname(rel), inc))
                        if os.path.dirname(resolved) != folder and not (folder == "include/axf"):
                            bad.append(f"{rel}:{ln}: includes {inc}, a private header of {os.path.dirname(resolved) or '.'}")
                        elif folder == "include/axf":
                            bad.append(f"{rel}:{ln}: public header includes private {inc}")
    for b in bad:
        print(b)
    print(f"layering: {checked} files checked, {len(bad)} violation(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

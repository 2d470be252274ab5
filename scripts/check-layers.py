#!/usr/bin/env python3
"""Lists the `use` edges between the files of one crate, the circles among them, and for a crate
with a layer order (LAYERS) every edge that goes up.

    scripts/check-layers.py [-v] CRATE_SRC_DIR [...]

A file's edges: every `crate::a::b` path it names (outside `#[cfg(test)]` modules) points at the
file that holds module `a::b` (or `a`), and `super::` paths at the parent's file. Exit 1 when
two files reach each other, or when a file imports one in a layer above its own.
"""
import re, sys
from fnmatch import fnmatchcase
from pathlib import Path

# Layers, top to bottom, by crate folder: a module may use its own layer's and those below, never
# one above. A layer is a list of module patterns ("a::*" is every module under a; "<root>" is
# main.rs and lib.rs); a module no pattern names is in the last layer.
LAYERS = {
    "cli/src": [
        ["<root>"],
        ["commands", "commands::*"],
        ["remote::client", "remote::server"],
        ["live", "live::*"],
        ["remote::transport"],
        # Everything else: keys, key_command, bus, report, remote (its doc), remote::protocol,
        # window, signals, failure, args, alloc_count, descriptions, descriptions::edit.
        ["*"],
    ],
}

def layer_of(layers, name):
    return next(i for i, patterns in enumerate(layers)
                if any(fnmatchcase(name, p) for p in patterns) or i == len(layers) - 1)

def module_of(root: Path, file: Path):
    parts = list(file.relative_to(root).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return tuple(parts)

def strip_tests(text):
    # Drop `#[cfg(test)] mod x { ... }` blocks (brace matched) and comments.
    text = re.sub(r"//[^\n]*", "", text)
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*(pub\s+)?mod\s+\w+\s*\{", text):
        if m.start() < i: continue
        out.append(text[i:m.start()])
        depth, j = 1, m.end()
        while depth and j < len(text):
            depth += {"{": 1, "}": -1}.get(text[j], 0); j += 1
        i = j
    out.append(text[i:])
    return "".join(out)

def expand_use_trees(text):
    paths = []
    for m in re.finditer(r"\buse\s+([^;]+);", text):
        tree = re.sub(r"\s+", "", m.group(1))
        stack = [("", tree)]
        while stack:
            prefix, t = stack.pop()
            b = t.find("{")
            if b == -1:
                for item in t.split(","):
                    if item: paths.append(prefix + item)
                continue
            head, body = t[:b], t[b + 1:t.rfind("}")]
            depth, start, items = 0, 0, []
            for k, c in enumerate(body):
                if c == "{": depth += 1
                elif c == "}": depth -= 1
                elif c == "," and depth == 0:
                    items.append(body[start:k]); start = k + 1
            items.append(body[start:])
            for item in items:
                if item: stack.append((prefix + head, item))
    paths += re.findall(r"\b((?:crate|super)(?:::\w+)+)", text)
    return paths

def main(roots):
    bad = False
    for root in map(Path, roots):
        # Test modules (tests.rs, or a tests/ folder of them) may reach anything they test.
        files = {module_of(root, f): f for f in root.rglob("*.rs")
                 if f.name != "tests.rs" and "tests" not in f.relative_to(root).parts[:-1]}
        edges = {m: set() for m in files}
        for mod, f in files.items():
            text = strip_tests(f.read_text())
            for path in expand_use_trees(text):
                segs = path.split("::")
                if segs[0] == "crate":
                    target = segs[1:]
                elif segs[0] == "super":
                    # a/b.rs and a/b/mod.rs are both module a::b: `super` is a for either.
                    base = list(mod)
                    while segs and segs[0] == "super":
                        base = base[:-1]; segs = segs[1:]
                    target = base + segs
                else:
                    continue
                while target and tuple(target) not in files:
                    target = target[:-1]
                t = tuple(target)
                if t != mod and t in files:
                    edges[mod].add(t)
        # circles: strongly connected components
        index, low, onstack, stack, sccs, n = {}, {}, set(), [], [], [0]
        sys.setrecursionlimit(10000)
        def strong(v):
            index[v] = low[v] = n[0]; n[0] += 1; stack.append(v); onstack.add(v)
            for w in edges[v]:
                if w not in index:
                    strong(w); low[v] = min(low[v], low[w])
                elif w in onstack:
                    low[v] = min(low[v], index[w])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop(); onstack.discard(w); comp.append(w)
                    if w == v: break
                if len(comp) > 1: sccs.append(comp)
        for v in edges:
            if v not in index: strong(v)
        name = lambda m: "::".join(m) or "<root>"
        if "-v" in sys.argv:
            for m in sorted(edges):
                print(f"{root}: {name(m)} -> {', '.join(sorted(map(name, edges[m])))}")
        for comp in sccs:
            bad = True
            print(f"{root}: circle: " + " <-> ".join(sorted(map(name, comp))))
        layers = next((order for folder, order in LAYERS.items()
                       if root.resolve().as_posix().endswith("/" + folder)), None)
        if layers:
            for m in sorted(edges):
                for t in sorted(edges[m]):
                    below, above = layer_of(layers, name(m)), layer_of(layers, name(t))
                    if above < below:
                        bad = True
                        print(f"{root}: upward import: {name(m)} (layer {below + 1}) uses "
                              f"{name(t)} (layer {above + 1}); layers, top to bottom: {layers}")
    return 1 if bad else 0

if __name__ == "__main__":
    sys.exit(main([a for a in sys.argv[1:] if a != "-v"]))

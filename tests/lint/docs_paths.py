#!/usr/bin/env python3
"""docs_paths.py - fails when a path named in docs/ or in a README does not exist.

A "path" is a markdown link target, a `backticked` word that starts with
one of the repository's top-level folders (core/, ebpf/, lib/, ...) or is
a top-level file, or a backticked file name (`preproc.c`, `x86/xsk.c`),
which must name a file in the document's folder or the end of a tracked
file's path.  Backticked paths are read from the repository root, or,
when that does not exist, from the folder of the document (so a folder's
README may name its own files); links are read from the document's
folder.  Globs (`map_*.c`) must match at least one file.  build/ and
absolute paths are not checked: they are made at build or run time.
Prints one line per missing path and a closing "N passed, N failed".
"""
import glob
import os
import re
import subprocess
import sys

TOP = ("core/", "ebpf/", "lib/", "loader/", "include/", "tests/", "examples/",
       "xdp-progs/", "bench/", "docs/", "scripts/", ".ci/")
TOP_FILES = ("Makefile", "README.md")
# Files of other projects that the docs cite (the kernel, libbpf).
EXTERNAL = ("net/", "kernel/", "drivers/", "include/linux/", "include/uapi/", "tools/",
            "bpf_helpers.h", "bpf_endian.h", "bpf_tracing.h", "vmlinux.h")

root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
os.chdir(root)

def documents():
    out = subprocess.run(["git", "ls-files", "docs", "*README.md", "README.md"],
                         capture_output=True, text=True, check=True).stdout.split()
    return sorted({d for d in out if d.endswith(".md") and os.path.exists(d)})

def exists(path, base):
    for cand in (path, os.path.join(base, path)):
        cand = os.path.normpath(cand)
        if any(ch in cand for ch in "*?["):
            if glob.glob(cand):
                return True
        elif os.path.exists(cand):
            return True
    return False

def candidates(text):
    """(kind, path) pairs named in a markdown text."""
    for m in re.finditer(r"\]\(([^)\s#]+)(#[^)]*)?\)", text):
        target = m.group(1)
        if "://" in target or target.startswith("mailto:"):
            continue
        yield "link", target
    for m in re.finditer(r"`([^`\n]+)`", text):
        word = m.group(1).strip()
        # a path is one word; cut a trailing ":line", "()" or punctuation
        if " " in word or word.startswith(("/", "build/", "$")):
            continue
        word = re.sub(r"(:\d+(-\d+)?|\(\))$", "", word).rstrip(".,;")
        if word.startswith(TOP) or word in TOP_FILES:
            yield "name", word
        elif re.fullmatch(r"[\w.*/-]+\.(c|h|sh|py|md|json)", word):
            yield "file", word

def tracked():
    return subprocess.run(["git", "ls-files"], capture_output=True, text=True,
                          check=True).stdout.split()

def file_named(word, base, files):
    """A file name or partial path: in the document's folder, or the end
    of some tracked file's path (`x86/xsk.c`, `preproc.c`)."""
    if exists(word, base):
        return True
    pat = re.compile("(^|.*/)" + re.escape(word).replace(r"\*", "[^/]*") + "$")
    return any(pat.match(f) for f in files)

def main():
    files = tracked()
    passed = failed = 0
    for doc in documents():
        base = os.path.dirname(doc)
        with open(doc, encoding="utf-8") as f:
            text = f.read()
        # fenced code blocks show commands and output, not references
        text = re.sub(r"```.*?```", "", text, flags=re.S)
        for kind, path in candidates(text):
            if "{" in path or "<" in path or "NAME" in path or "..." in path:
                continue  # a pattern for the reader, not a file
            if path.startswith(EXTERNAL):
                continue
            if kind == "name":
                ok = exists(path, base)
            elif kind == "file":
                ok = file_named(path, base, files)
            else:
                ok = os.path.exists(os.path.normpath(os.path.join(base, path)))
            if ok:
                passed += 1
            else:
                failed += 1
                print(f"{doc}: names {path}, which does not exist")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0

sys.exit(main())

#!/usr/bin/env python3
"""nfp_check.py - checks the freestanding NFP build (make nfp-check): symbols, floating point, recursion, stack, memory budgets."""
# Usage: nfp_check.py --allow core/nfp/allow.txt OBJ... (each OBJ with its
# gcc -fcallgraph-info=su .ci file beside it).  Prints what it checked and
# "N passed, N failed"; exits 1 on any failure.
import re
import subprocess
import sys

# Memory sizes: core/nfp/hal.h NFP_MEM_LIST (LM per ME, CLS per island).
MEM_BYTES = {"lm": 4096, "cls": 64 * 1024, "ctm": 256 * 1024,
             "imem": 4 * 1024 * 1024, "emem": 2048 * 1024 * 1024}
# Functions that may call through a pointer: the backend's transmit
# (struct ftoe_io.xmit/xmit_md, the MAC's tx on the NIC).
INDIRECT_OK = {"ftoe_tx_send"}

passed = failed = 0


def result(ok, what):
    global passed, failed
    if ok:
        passed += 1
        print("ok    " + what)
    else:
        failed += 1
        print("FAIL  " + what)


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def main(argv):
    if len(argv) < 3 or argv[0] != "--allow":
        print("usage: nfp_check.py --allow FILE OBJ...", file=sys.stderr)
        return 2
    allow = set()
    with open(argv[1]) as f:
        for line in f:
            name = line.split("#", 1)[0].strip()
            if name:
                allow.add(name)
    objs = argv[2:]

    # 1. Undefined symbols of the whole image, against the allow-list.
    combined = objs[0] + ".image.o"
    run(["ld", "-r", "-o", combined] + objs)
    undef = sorted(set(l.split()[-1] for l in run(["nm", "-u", combined]).splitlines() if l.strip()))
    bad = [u for u in undef if u not in allow]
    result(not bad, "undefined symbols limited to core/nfp/allow.txt (%d: %s)%s" %
           (len(undef), " ".join(undef), "; NOT ALLOWED: " + " ".join(bad) if bad else ""))

    # 2. No floating point: -mgeneral-regs-only already refuses to compile
    # it; the disassembly is checked too (SSE/AVX registers, x87).
    dis = run(["objdump", "-d", "--no-show-raw-insn", combined])
    fp = [l.strip() for l in dis.splitlines()
          if re.search(r"%[xyz]mm\d|\bf(ld|st|add|mul|div|sub)[a-z]*\s", l)]
    result(not fp, "no floating-point instructions%s" % ("; found: " + "; ".join(fp[:3]) if fp else ""))

    # 3. Call graph from gcc's .ci files: no recursion, no unbounded stack.
    edges, frames, dynamic, indirect = {}, {}, [], []
    for o in objs:
        ci = re.sub(r"\.o$", ".ci", o)
        with open(ci) as f:
            text = f.read()
        for m in re.finditer(r'node: \{ title: "([^"]+)" label: "[^\\"]*\\n[^\\"]*\\n(\d+) bytes \(([a-z,]+)\)', text):
            frames[m.group(1)] = int(m.group(2))
            if m.group(3) == "dynamic":
                dynamic.append(m.group(1))
        for m in re.finditer(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"', text):
            src, dst = m.group(1), m.group(2)
            if dst == "__indirect_call":
                indirect.append(src)
                continue
            edges.setdefault(src, set()).add(dst)
    # Static functions are "file:name" in their own file and may be called
    # by that name there; external ones by their plain name.
    cycles = []
    state = {}

    def visit(n, path):
        state[n] = 1
        for d in edges.get(n, ()):
            if state.get(d) == 1:
                cycles.append(path[path.index(d):] + [d] if d in path else [n, d])
            elif d not in state:
                visit(d, path + [d])
        state[n] = 2
    sys.setrecursionlimit(10000)
    for n in list(edges):
        if n not in state:
            visit(n, [n])
    result(not cycles, "no recursion in the call graph (%d functions, %d call edges)%s" %
           (len(frames), sum(len(v) for v in edges.values()),
            "; cycles: " + "; ".join(" -> ".join(c) for c in cycles[:3]) if cycles else ""))
    result(not dynamic, "no alloca/VLA (unbounded dynamic stack)%s" %
           ("; in: " + " ".join(dynamic) if dynamic else ""))
    bad_ind = sorted(set(i for i in indirect if i.split(":")[-1] not in INDIRECT_OK))
    result(not bad_ind, "indirect calls only to the backend's transmit (%s)%s" %
           (", ".join(sorted(set(indirect))) or "none",
            "; NOT ALLOWED in: " + " ".join(bad_ind) if bad_ind else ""))

    # Deepest stack over the call graph (reported: the ME keeps its stack in
    # LM, docs/nfp.md "Gaps").
    memo = {}

    def depth(n):
        if n in memo:
            return memo[n]
        memo[n] = 0
        best = 0
        for d in edges.get(n, ()):
            best = max(best, depth(d))
        memo[n] = frames.get(n, 0) + best
        return memo[n]
    deepest = max(((depth(n), n) for n in frames), default=(0, "-"))
    print("info  deepest stack: %d bytes from %s (one ME context's share of LM: %d bytes)" %
          (deepest[0], deepest[1], MEM_BYTES["lm"] // 8))

    # 4. Tables against the memories they are placed in (__declspec(MEM)
    # puts them in section .nfp_MEM; .nfp_lm_* is one ME's LM each).
    sizes = {}
    for l in run(["objdump", "-h", combined]).splitlines():
        m = re.match(r"\s*\d+\s+\.nfp_(\S+)\s+([0-9a-f]+)", l)
        if m:
            sizes[m.group(1)] = sizes.get(m.group(1), 0) + int(m.group(2), 16)
    result(bool(sizes), "placed tables found (%s)" %
           ", ".join("%s %d B" % kv for kv in sorted(sizes.items())))
    for sec, n in sorted(sizes.items()):
        mem = sec.split("_")[0]
        cap = MEM_BYTES.get(mem)
        result(cap is not None and n <= cap, "section .nfp_%s: %d of %s bytes of %s" %
               (sec, n, cap, mem.upper()))

    print("nfp-check: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

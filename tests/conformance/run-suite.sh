#!/usr/bin/env bash
# Run the bpf_conformance suite's test programs against flextoe-bpf-conformance.
#
# usage: tests/conformance/run-suite.sh TEST_DIR [--engine jit|interp] [--plugin PATH] [-v]
#
# TEST_DIR is the tests/ directory of a checkout of
# https://github.com/Alan-Jowett/bpf_conformance (not shipped here).  Each
# *.data file is parsed and assembled by this script itself (sections
# "-- asm", "-- raw", "-- mem", "-- result", "-- error", with the suite's
# assembler syntax), fed to the plugin exactly as the suite's runner does
# (base16 program on stdin, base16 memory as the first argument), and r0
# is compared with the expected result.  Tests of the "callx" group (call
# by register), which the suite's runner also leaves out by default, are
# skipped.  Ends with "conformance-ENGINE: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."

if [[ $# -lt 1 || $1 == -h || $1 == --help ]]; then
	sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
fi
TEST_DIR=$1; shift
ENGINE=interp
PLUGIN=${BUILD:-build}/bin/flextoe-bpf-conformance
VERBOSE=0
while [[ $# -gt 0 ]]; do
	case $1 in
	--engine) ENGINE=$2; shift 2 ;;
	--plugin) PLUGIN=$2; shift 2 ;;
	-v) VERBOSE=1; shift ;;
	*) echo "run-suite.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
[[ -d $TEST_DIR ]] || { echo "run-suite.sh: $TEST_DIR is not a directory" >&2; exit 2; }
[[ -x $PLUGIN ]] || { echo "run-suite.sh: plugin $PLUGIN not built (make BUILD=...)" >&2; exit 2; }

exec python3 - "$TEST_DIR" "$PLUGIN" "$ENGINE" "$VERBOSE" <<'PY'
import glob, os, struct, subprocess, sys

test_dir, plugin, engine, verbose = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"

REGS = {"%%r%d" % i: i for i in range(16)}
ALU = {"add": 0x0, "sub": 0x1, "mul": 0x2, "div": 0x3, "sdiv": 0x3, "or": 0x4, "and": 0x5,
       "lsh": 0x6, "rsh": 0x7, "neg": 0x8, "mod": 0x9, "smod": 0x9, "xor": 0xa, "mov": 0xb,
       "movsx": 0xb, "arsh": 0xc}
JMP = {"jeq": 0x1, "jgt": 0x2, "jge": 0x3, "jset": 0x4, "jne": 0x5, "jsgt": 0x6, "jsge": 0x7,
       "jlt": 0xa, "jle": 0xb, "jslt": 0xc, "jsle": 0xd}
LDX = {"ldxw": 0x61, "ldxh": 0x69, "ldxb": 0x71, "ldxdw": 0x79,
       "ldxsw": 0x81, "ldxsh": 0x89, "ldxsb": 0x91}
ST = {"stw": 0x62, "sth": 0x6a, "stb": 0x72, "stdw": 0x7a}
STX = {"stxw": 0x63, "stxh": 0x6b, "stxb": 0x73, "stxdw": 0x7b}
ATOMIC = {"add": 0x00, "or": 0x40, "and": 0x50, "xor": 0xa0, "xchg": 0xe1, "cmpxchg": 0xf1}

class AsmError(Exception):
    pass

def num(s):
    return int(s, 16) if "0x" in s else int(s, 10)

def imm32(s):
    v = num(s)
    if "0x" in s:
        if v > 0xffffffff:
            raise AsmError("immediate out of range: " + s)
        return v - (1 << 32) if v >= 1 << 31 else v
    if not -(1 << 31) <= v < (1 << 31):
        raise AsmError("immediate out of range: " + s)
    return v

def off16(s):
    v = num(s)
    if "0x" in s:
        return v - (1 << 16) if v >= 1 << 15 else v
    if not -(1 << 15) <= v < (1 << 15):
        raise AsmError("offset out of range: " + s)
    return v

def reg(s):
    if s not in REGS:
        raise AsmError("invalid register: " + s)
    return REGS[s]

def mem_operand(s):
    # [%rN], [%rN+off], [%rN-off]
    if not (s.startswith("[") and s.endswith("]")):
        raise AsmError("bad memory operand: " + s)
    body = s[1:-1]
    for sep in "+-":
        if sep in body:
            r, o = body.split(sep, 1)
            return reg(r), off16(sep + o if sep == "-" else o)
    return reg(body), 0

def assemble(lines):
    """The suite's assembler (lib/src/bpf_assembler.cc), reimplemented."""
    out, fixups, labels = [], {}, {}
    seen_exit = False
    for line in lines:
        toks = line.split()
        if not toks:
            continue
        mn, ops = toks[0], [t[:-1] if t.endswith(",") else t for t in toks[1:]]
        if mn.endswith(":"):
            labels[mn[:-1]] = len(out)
            continue
        if mn == "exit" and not seen_exit:
            labels["exit"] = len(out)
            seen_exit = True
        idx = len(out)
        ins = {"op": 0, "dst": 0, "src": 0, "off": 0, "imm": 0}

        def target(s, field):
            if s[0] in "+-":
                ins[field] = off16(s)
            else:
                fixups[idx] = (s, field)

        if mn == "lock":
            if ops and ops[0] != "fetch":
                ops.insert(0, "no_fetch")
            fetch, op, dst_s, src_s = ops
            base = op[:-2] if op.endswith("32") else op
            if base not in ATOMIC:
                raise AsmError("invalid atomic op " + op)
            ins["op"] = 0xc3 if op.endswith("32") else 0xdb
            ins["dst"], ins["off"] = mem_operand(dst_s)
            ins["src"] = reg(src_s)
            ins["imm"] = ATOMIC[base] | (1 if fetch == "fetch" else 0)
        elif mn == "lddw":
            v = num(ops[1]) & ((1 << 64) - 1) if not ops[1].startswith("-") else int(ops[1]) & ((1 << 64) - 1)
            lo, hi = v & 0xffffffff, v >> 32
            out.append({"op": 0x18, "dst": reg(ops[0]), "src": 0, "off": 0,
                        "imm": lo - (1 << 32) if lo >= 1 << 31 else lo})
            out.append({"op": 0, "dst": 0, "src": 0, "off": 0,
                        "imm": hi - (1 << 32) if hi >= 1 << 31 else hi})
            continue
        elif mn in LDX:
            ins["op"] = LDX[mn]
            ins["dst"] = reg(ops[0])
            ins["src"], ins["off"] = mem_operand(ops[1])
        elif mn in ST:
            ins["op"] = ST[mn]
            ins["dst"], ins["off"] = mem_operand(ops[0])
            ins["imm"] = imm32(ops[1])
        elif mn in STX:
            ins["op"] = STX[mn]
            ins["dst"], ins["off"] = mem_operand(ops[0])
            ins["src"] = reg(ops[1])
        elif mn == "exit":
            ins["op"] = 0x95
        elif mn == "ja":
            ins["op"] = 0x05
            target(ops[0], "off")
        elif mn == "ja32":
            ins["op"] = 0x06
            target(ops[0], "imm")
        elif mn == "call":
            if len(ops) == 1:
                ops.insert(0, "helper")
            mode, t = ops
            ins["op"] = 0x85
            if mode == "helper":
                if t.startswith("%"):
                    ins["op"] |= 0x08
                    ins["dst"] = reg(t)
                else:
                    ins["imm"] = imm32(t)
            elif mode == "local":
                ins["src"] = 1
                target(t, "imm")
            elif mode == "runtime":
                ins["src"] = 2
                ins["imm"] = imm32(t)
            else:
                raise AsmError("invalid call mode " + mode)
        elif mn.rstrip("0123456789") in JMP:
            base = mn[:-2] if mn.endswith("32") else mn
            ins["op"] = (0x06 if mn.endswith("32") else 0x05) | JMP[base] << 4
            ins["dst"] = reg(ops[0])
            if ops[1].startswith("%"):
                ins["op"] |= 0x08
                ins["src"] = reg(ops[1])
            else:
                ins["imm"] = imm32(ops[1])
            target(ops[2], "off")
        elif mn[:2] in ("be", "le") and mn[2:].isdigit():
            ins["op"] = 0xdc if mn.startswith("be") else 0xd4
            ins["dst"] = reg(ops[0])
            ins["imm"] = int(mn[2:])
        elif mn.startswith("bswap") or mn.startswith("swap"):
            ins["op"] = 0xd7
            ins["dst"] = reg(ops[0])
            ins["imm"] = int(mn[5:] if mn.startswith("bswap") else mn[4:])
        else:
            cls = 0x07
            op = mn
            if mn.endswith("32") and not mn.startswith("movsx"):
                cls, op = 0x04, mn[:-2]
            elif mn.endswith("64") and not mn.startswith("movsx"):
                op = mn[:-2]
            if op.startswith("movsx"):
                # movsx<from><to>: movsx832, movsx1664, ...
                spec = op[5:]
                cls = 0x04 if spec.endswith("32") else 0x07
                ins["off"] = int(spec[:-2])
                op = "movsx"
            if op not in ALU:
                raise AsmError("invalid mnemonic: " + mn)
            if op in ("sdiv", "smod"):
                ins["off"] = 1
            ins["op"] = cls | ALU[op] << 4
            ins["dst"] = reg(ops[0])
            if len(ops) == 2:
                if ops[1].startswith("%"):
                    ins["op"] |= 0x08
                    ins["src"] = reg(ops[1])
                else:
                    ins["imm"] = imm32(ops[1])
        out.append(ins)
    for idx, (label, field) in fixups.items():
        if label not in labels:
            raise AsmError("invalid label: " + label)
        out[idx][field] = labels[label] - idx - 1
    return out

def encode(ins):
    return struct.pack("<BBhi", ins["op"], (ins["src"] & 0xf) << 4 | (ins["dst"] & 0xf),
                       ins["off"], ins["imm"])

def parse(path):
    state, asm, raw, mem, result, error = None, [], [], [], None, None
    with open(path) as f:
        for line in f:
            line = line.rstrip("\r\n")
            if "#" in line:
                line = line[:line.index("#")]
            if "--" in line:
                if "asm" in line: state = "asm"
                elif "result" in line: state = "result"
                elif "mem" in line: state = "mem"
                elif "raw" in line: state = "raw"
                elif "no register offset" in line or " c" in line: state = None
                elif "error" in line: state = "error"
                else: return None
                continue
            if not line.strip():
                continue
            if state == "asm": asm.append(line)
            elif state == "result": result = line.strip()
            elif state == "mem": mem += line.split()
            elif state == "error": error = line.strip()
            elif state == "raw": raw += line.split()
    if result is None and error is None:
        return None
    if raw:
        code = b"".join(struct.pack("<Q", num(w)) for w in raw)
    else:
        code = b"".join(encode(i) for i in assemble(asm))
    expect = 0 if result is None else num(result)
    memory = bytes(int(b, 16) for b in mem)
    return code, memory, expect, error

passed = failed = skipped = 0
for path in sorted(glob.glob(os.path.join(test_dir, "*.data"))):
    name = os.path.basename(path)
    try:
        t = parse(path)
    except (AsmError, ValueError, IndexError) as e:
        print("SKIP %s: cannot assemble (%s)" % (name, e))
        skipped += 1
        continue
    if t is None or not t[0]:
        print("SKIP %s: no program or result" % name)
        skipped += 1
        continue
    code, memory, expect, error = t
    opcodes = [code[i] for i in range(0, len(code), 8)]
    if 0x8d in opcodes:
        if verbose:
            print("SKIP %s: callx group" % name)
        skipped += 1
        continue
    args = [plugin, "--engine", engine]
    if memory:
        args.insert(1, " ".join("%02x" % b for b in memory))
    prog_hex = " ".join("%02x" % b for b in code)
    try:
        p = subprocess.run(args, input=prog_hex + "\n", capture_output=True, text=True, timeout=10)
    except subprocess.TimeoutExpired:
        print("FAIL %s: timed out" % name)
        failed += 1
        continue
    if error is not None:
        ok = p.returncode != 0
        why = "expected an error (%s), got rc=%d out=%r" % (error, p.returncode, p.stdout.strip())
    elif p.returncode != 0:
        ok, why = False, "plugin failed rc=%d: %s" % (p.returncode, p.stderr.strip())
    else:
        try:
            got = int(p.stdout.strip(), 16)
            ok = got == expect
            why = "r0 = 0x%x, expected 0x%x" % (got, expect)
        except ValueError:
            ok, why = False, "unparsable output %r" % p.stdout
    if ok:
        passed += 1
        if verbose:
            print("PASS %s" % name)
    else:
        failed += 1
        print("FAIL %s: %s" % (name, why))
print("skipped %d (callx group or not runnable)" % skipped)
print("conformance-%s: %d passed, %d failed" % (engine, passed, failed))
sys.exit(1 if failed else 0)
PY

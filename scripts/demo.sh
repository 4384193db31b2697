#!/usr/bin/env bash
# The README's demo: install what is needed, build, and show the runtime at
# work - an XDP program verified by the kernel and run on real frames by the
# JIT, the interpreter and the kernel side by side.
#
# The engine itself (serving a Linux peer over AF_XDP) joins this demo when
# it lands; until then the demo shows what exists.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
make -s -j2 all >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bin=build/bin/flextoe-bpf

echo "== 1. compile an XDP program (examples/runtime/drop_udp.bpf.c)"
clang -O2 -g -target bpf -mcpu=v3 -c examples/runtime/drop_udp.bpf.c -o "$work/drop_udp.bpf.o"

echo "== 2. the kernel verifier checks it"
$bin verify "$work/drop_udp.bpf.o"

echo "== 3. two frames: UDP (should be dropped) and TCP (should pass)"
python3 - "$work" <<'PY'
import struct, sys
def frame(proto):
    eth = b'\x02\x00\x00\x00\x00\x02' + b'\x02\x00\x00\x00\x00\x01' + b'\x08\x00'
    payload = b'hello, flextoe!'
    l4 = (struct.pack('!HHHH', 4000, 5000, 8 + len(payload), 0) if proto == 17
          else struct.pack('!HHIIBBHHH', 4000, 5000, 1, 0, 5 << 4, 0x18, 65535, 0, 0))
    total = 20 + len(l4) + len(payload)
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, total, 1, 0, 64, proto, 0,
                     bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    return eth + ip + l4 + payload
open(sys.argv[1] + '/udp.bin', 'wb').write(frame(17))
open(sys.argv[1] + '/tcp.bin', 'wb').write(frame(6))
PY

echo "== 4. run each frame 100000 times on every engine"
names=([0]=ABORTED [1]=DROP [2]=PASS [3]=TX [4]=REDIRECT)
printf '%-6s %-8s %-9s %8s %12s\n' frame engine verdict bytes ns/run
for f in udp tcp; do
	for e in jit interp kernel; do
		out=$($bin test-run "$work/drop_udp.bpf.o" --data-in "$work/$f.bin" \
			--repeat 100000 --engine $e --json)
		python3 - "$f" "$e" "$out" <<'PY'
import json, sys
r = json.loads(sys.argv[3])
names = {0: 'ABORTED', 1: 'DROP', 2: 'PASS', 3: 'TX', 4: 'REDIRECT'}
print('%-6s %-8s %-9s %8d %12.1f' % (sys.argv[1], sys.argv[2], names.get(r['retval'], r['retval']),
      r['data_size_out'], r['duration_ns']))
PY
	done
done
echo "== done"

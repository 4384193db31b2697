#!/usr/bin/env bash
# boundary.sh - the stages and the control plane meet only at core/slowpath.h (docs/core.md, "The slow-path boundary").
#
# Checks, from the sources and the built objects ($BUILD/obj, `make` first):
#   1. no stage (core/preproc.c, protocol.c, postproc.c, sched.c, tx.c) and
#      none of the headers the stages share (pipeline.h, flow_state.h,
#      slowpath.h) includes a core/control/ header; of the other core/ files
#      only the engine's entry points (engine.c: none; socket.c: the
#      application's calls) may, and only it;
#   2. no stage object references a function or variable defined in a
#      core/control/ object (nm);
#   3. no cycle of calls among the objects of core/ and core/control/ has
#      files on both sides (strongly connected components of the nm graph).
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${FTOE_BUILD:-${BUILD:-build}}
pass=0 fail=0
ok() { echo "ok: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

STAGES="core/preproc.c core/protocol.c core/postproc.c core/sched.c core/tx.c"

# 1. includes
for f in $STAGES core/pipeline.h core/flow_state.h core/slowpath.h; do
	inc=$(grep -n '#include "core/control/' "$f")
	if [[ -n $inc ]]; then bad "$f includes a control header: $inc"; else ok "$f includes no core/control/ header"; fi
done
allowed='^(core/socket.c:#include "core/control/conn.h")'
extra=$(grep -H '#include "core/control/' core/*.c core/*.h | sed 's/[[:space:]]*\/\*.*//' | grep -Ev "$allowed")
if [[ -n $extra ]]; then bad "core/ files include control headers beyond the allowed ones: $extra"; else ok "core/ includes of core/control/ are only the allowed ones"; fi

# 2, 3. calls (nm)
if ! command -v nm >/dev/null || ! command -v python3 >/dev/null; then
	bad "nm and python3 are needed for the call checks"
elif ! ls "$BUILD"/obj/core/*.o >/dev/null 2>&1; then
	bad "no objects in $BUILD/obj/core: run 'make' first"
else
	out=$(python3 - "$BUILD/obj" $STAGES <<'PY'
import glob, os, subprocess, sys
obj, stages = sys.argv[1], sys.argv[2:]
srcs = {os.path.splitext(p)[0] + '.c' for p in glob.glob('core/*.c') + glob.glob('core/control/*.c')}
defs, undefs = {}, {}
for src in sorted(srcs):
    o = os.path.join(obj, src[:-2] + '.o')
    if not os.path.exists(o):
        print('missing %s' % o); continue
    d, u = set(), set()
    for line in subprocess.run(['nm', o], capture_output=True, text=True).stdout.splitlines():
        p = line.split()
        if len(p) == 3 and p[1] in 'TDBR': d.add(p[2])
        elif len(p) == 2 and p[0] == 'U': u.add(p[1])
    defs[src], undefs[src] = d, u
owner = {s: f for f, d in defs.items() for s in d}
edges = {f: sorted({owner[s] for s in u if s in owner and owner[s] != f}) for f, u in undefs.items()}
for f in stages:
    bad = [t for t in edges.get(f, []) if t.startswith('core/control/')]
    syms = sorted(s for s in undefs.get(f, ()) if owner.get(s, '').startswith('core/control/'))
    print(('calls %s: %s' % (f, ' '.join(syms))) if bad else ('clean %s' % f))
index, low, stack, on, comps, n = {}, {}, [], set(), [], [0]
def visit(v):
    index[v] = low[v] = n[0]; n[0] += 1; stack.append(v); on.add(v)
    for w in edges.get(v, []):
        if w not in index: visit(w); low[v] = min(low[v], low[w])
        elif w in on: low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        c = []
        while True:
            w = stack.pop(); on.discard(w); c.append(w)
            if w == v: break
        comps.append(sorted(c))
sys.setrecursionlimit(10000)
for v in defs:
    if v not in index: visit(v)
spanning = [c for c in comps if len(c) > 1 and any(x.startswith('core/control/') for x in c)
            and any(not x.startswith('core/control/') for x in c)]
for c in spanning: print('cycle ' + ' '.join(c))
if not spanning: print('nocycle')
PY
)
	while read -r kind rest; do
		case $kind in
		clean) ok "$rest calls nothing in core/control/" ;;
		calls) bad "$rest" ;;
		cycle) bad "a cycle of calls spans the stages and the control plane: $rest" ;;
		nocycle) ok "no cycle of calls spans core/ and core/control/" ;;
		missing) bad "object $rest is missing: run 'make' first" ;;
		esac
	done <<<"$out"
fi
echo "boundary: $pass passed, $fail failed"
[[ $fail -eq 0 ]]

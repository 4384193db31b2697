#!/usr/bin/env bash
# fw_apply.sh - wall and CPU time of flextoe-fw apply for 10-rule edits of a generated 100,000-rule
# set on a running engine (the issue's target: under 100 ms), min / median / max over the edits,
# with the time of each step (apply -v).  Runs tests/integration/firewall_update.sh.
set -u
cd "$(dirname "$0")/.."
RULES=${1:-100000}
EDITS=${2:-7}
OUT=$(FW_UPDATE_RULES=$RULES FW_UPDATE_EDITS=$EDITS FW_UPDATE_VERBOSE=1 \
	bash tests/integration/firewall_update.sh 2>&1)
RC=$?
grep -E "^# (apply|10-rule)|flextoe-fw apply: +[0-9.]+ ms|passed" <<<"$OUT"
TIMES=$(sed -n 's/^# 10-rule edits of .*(end to end): //p' <<<"$OUT")
CPUS=$(sed -n 's/^# 10-rule edits of .*(user + sys): //p' <<<"$OUT")
python3 - "$RULES" "$TIMES" "$CPUS" <<'PY'
import statistics, sys
rules = sys.argv[1]
for what, arg in (("wall", sys.argv[2]), ("cpu", sys.argv[3])):
    t = sorted(int(x) for x in arg.split() if x.isdigit())
    if t:
        print("fw_apply: 10-rule edit of %s rules, %s: min %d ms, median %d ms, max %d ms over %d "
              "applies (target < 100 ms: %s)" % (rules, what, t[0], statistics.median(t), t[-1],
              len(t), "ok" if statistics.median(t) < 100 else "MISS"))
PY
exit $RC

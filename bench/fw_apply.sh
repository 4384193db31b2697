#!/usr/bin/env bash
# fw_apply.sh - wall and CPU time of flextoe-fw apply for 10-rule edits of a generated 100,000-rule
# set on a running engine (the issue's target: every edit under 100 ms, the first after the full
# applies too), each edit's time, min / median / max over the edits - the target is judged on the
# max - with the time of each step (apply -v) and the load average beside (on a shared machine
# the wall time is mostly waiting for a CPU).  Runs tests/integration/firewall_update.sh.
set -u
cd "$(dirname "$0")/.."
RULES=${1:-100000}
EDITS=${2:-7}
OUT=$(FW_UPDATE_RULES=$RULES FW_UPDATE_EDITS=$EDITS FW_UPDATE_VERBOSE=1 \
	bash tests/integration/firewall_update.sh 2>&1)
RC=$?
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
grep -E "^# (apply|10-rule)|flextoe-fw apply: +[0-9.]+ ms|passed" <<<"$OUT"
TIMES=$(sed -n 's/^# 10-rule edits of .*(end to end): //p' <<<"$OUT")
CPUS=$(sed -n 's/^# 10-rule edits of .*(user + sys): //p' <<<"$OUT")
python3 - "$RULES" "$TIMES" "$CPUS" "$LOAD" <<'PY'
import statistics, sys
rules, load = sys.argv[1], sys.argv[4]
for what, arg in (("wall", sys.argv[2]), ("cpu", sys.argv[3])):
    each = [int(x) for x in arg.split() if x.isdigit()]
    t = sorted(each)
    if t:
        print("fw_apply: 10-rule edit of %s rules, %s: first %d ms, min %d ms, median %d ms, "
              "max %d ms over %d applies (every one < 100 ms: %s; load average %s)"
              % (rules, what, each[0], t[0], statistics.median(t), t[-1], len(t),
                 "ok" if t[-1] < 100 else "MISS", load))
PY
exit $RC

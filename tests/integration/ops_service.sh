#!/usr/bin/env bash
# ops_service.sh - the engine as a systemd service (issue 11): flextoe@.service passes
# systemd-analyze verify; the engine starts from a configuration file that carries its
# options (the command line wins; bad files get file:line errors, exit 2); with a fake
# $NOTIFY_SOCKET it says READY=1 once its sockets are up and STOPPING=1 on SIGTERM, then
# exits 0 having removed them.  This machine has no running systemd: the service itself
# is not started here.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/netns.sh
. tests/lib/engine.sh

BUILD=${FTOE_BUILD:-build}
case $BUILD in /*) BIN=$BUILD/bin ;; *) BIN=$PWD/$BUILD/bin ;; esac
need_files "$BIN/flextoe" "$BIN/flextoe-stat" scripts/systemd/flextoe@.service.in
need_tools python3 systemd-analyze

test_init ops-service
RUN=$TMP/run
ENG_IP=10.93.0.5
OTHER_IP=10.93.0.6
KERN_IP=10.93.0.1
PEER_IP=10.93.0.2

# ---- the unit -------------------------------------------------------------------
mkdir -p "$TMP/unit" "$TMP/etc/flextoe"
sed -e "s|@SBINDIR@|$BIN|g" -e "s|@SYSCONFDIR@|$TMP/etc|g" scripts/systemd/flextoe@.service.in \
	>"$TMP/unit/flextoe@veth0.service"
cp scripts/systemd/flextoe.conf.example "$TMP/etc/flextoe/veth0.conf"
verify() {
	local out
	out=$(cd "$TMP/unit" && systemd-analyze verify --man=no "./$1" 2>&1) || { echo "$out" >&2; return 1; }
	[[ -z $out ]] || { echo "$out" >&2; return 1; }
}
t_check "systemd-analyze verify flextoe@veth0.service: no error, no warning" verify flextoe@veth0.service
sed 's/^Type=notify/Type=notifyy/' "$TMP/unit/flextoe@veth0.service" >"$TMP/unit/broken@veth0.service"
t_check "  (the check sees a broken unit: Type=notifyy is reported)" sh -c "! (cd '$TMP/unit' && [ -z \"\$(systemd-analyze verify --man=no ./broken@veth0.service 2>&1)\" ])"
t_check "the unit is Type=notify, runs flextoe --config /etc/flextoe/%i.conf --iface %i" \
	sh -c "grep -q '^Type=notify\$' scripts/systemd/flextoe@.service.in &&
	       grep -q '^ExecStart=@SBINDIR@/flextoe --config @SYSCONFDIR@/flextoe/%i.conf --iface %i\$' scripts/systemd/flextoe@.service.in"

# every option of flextoe --help is a setting of the example configuration
opts_in_example() {
	local o missing=
	for o in $("$BIN/flextoe" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
		case $o in --help|--config) continue ;; esac
		grep -q "^#\{0,1\}${o#--} *=" scripts/systemd/flextoe.conf.example || missing+=" $o"
	done
	[[ -z $missing ]] || { echo "not in flextoe.conf.example:$missing" >&2; return 1; }
}
t_check "every option of flextoe --help is in flextoe.conf.example" opts_in_example

# ---- configuration file --------------------------------------------------------------
ns_add eng && ns_add peer
ns_link eng veth0 $KERN_IP/24 peer veth1 $PEER_IP/24
ip netns exec "$(ns_name eng)" ethtool -K veth0 tx off >/dev/null 2>&1
ip netns exec "$(ns_name peer)" ethtool -K veth1 tx off >/dev/null 2>&1
cat >"$TMP/eng.conf" <<CONF
# the engine of ops_service.sh
ip = $ENG_IP/24
run-dir $RUN        # without '='
cc = timely
max-flows = 4096
force = no
verbose = 0
CONF
bad_conf() { # TEXT EXPECTED-MESSAGE
	local out rc
	printf '%s\n' "$1" >"$TMP/bad.conf"
	out=$(ip netns exec "$(ns_name eng)" "$BIN/flextoe" --config "$TMP/bad.conf" --iface veth0 2>&1); rc=$?
	[[ $rc -eq 2 && $out == *"$2"* ]] || { echo "rc=$rc: $out" >&2; return 1; }
}
t_check "unknown setting: file:line and exit 2" bad_conf $'ip = 10.93.0.5/24\nfrobnicate = 1' "bad.conf:2: unknown setting 'frobnicate'"
t_check "setting without its value: exit 2" bad_conf 'cc =' "a value is needed for 'cc'"
t_check "flag with a bad value: exit 2" bad_conf 'force = maybe' "expected yes or no for 'force'"
t_check "a bad value is the option's error: exit 2" bad_conf 'queues = 0' "bad --queues '0'"
t_check "'config' inside a configuration: exit 2" bad_conf 'config = /etc/x' "not a setting: 'config'"
missing() {
	local out rc
	out=$("$BIN/flextoe" --config "$TMP/nosuch.conf" 2>&1); rc=$?
	[[ $rc -eq 2 && $out == *"cannot read the configuration $TMP/nosuch.conf"* ]] || { echo "rc=$rc: $out" >&2; return 1; }
}
t_check "missing configuration file: exit 2" missing

# ---- readiness with a fake NOTIFY_SOCKET ------------------------------------------------
NOTIFY=$TMP/notify.sock
python3 tests/tools/traffic/notify_sock.py "$NOTIFY" "$TMP/notify.log" "$RUN" &
NPID=$!
wait_cmd 5 test -e "$TMP/notify.log.listening"
# --ip on the command line wins over the file's
ip netns exec "$(ns_name eng)" env NOTIFY_SOCKET="$NOTIFY" "$BIN/flextoe" --config "$TMP/eng.conf" \
	--iface veth0 --ip $OTHER_IP/24 >"$TMP/eng.log" 2>&1 &
EPID=$!
t_check "READY=1 arrives on NOTIFY_SOCKET" wait_for "$TMP/notify.log" "READY=1" 15
sed 's/^/# /' "$TMP/notify.log"
t_check "at READY=1 engine.sock, loader.sock and flextoe.sock were up" \
	grep -q "^SOCKETS engine.sock loader.sock flextoe.sock$" "$TMP/notify.log"
t_check "READY=1 carries MAINPID (the engine's pid $EPID) and a STATUS" \
	sh -c "grep -q 'MAINPID=$EPID' '$TMP/notify.log' && grep -q 'STATUS=serving $OTHER_IP on veth0' '$TMP/notify.log'"
t_check "the configuration's settings hold: run-dir, cc timely" \
	sh -c "grep -q 'congestion control timely, run dir $RUN' '$TMP/eng.log'"
t_check "the command line's --ip won over the file's ip" grep -q "ready: $OTHER_IP on veth0" "$TMP/eng.log"
t_check "flextoe-stat reaches the engine in the configured run dir" \
	sh -c "'$BIN/flextoe-stat' counters --run-dir '$RUN' -a -s -z TcpInSegs | grep -q '^TcpInSegs'"
kill -TERM $EPID
wait $EPID; RC=$?
t_check "SIGTERM: the engine exits 0" test $RC -eq 0
wait $NPID 2>/dev/null
t_check "STOPPING=1 arrived on NOTIFY_SOCKET" grep -q "STOPPING=1" "$TMP/notify.log"
t_check "the engine removed its sockets" \
	sh -c "! ls '$RUN'/*.sock 2>/dev/null | grep -q ."
# no NOTIFY_SOCKET: nothing is sent, the engine starts as before
t_check "without NOTIFY_SOCKET the engine starts as before" engine_start eng $ENG_IP/24
t_summary

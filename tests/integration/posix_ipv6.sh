#!/usr/bin/env bash
# posix_ipv6.sh - unmodified programs over IPv6 through the POSIX layer (flextoe-run), Linux peer
# over IPv6: an AF_INET listener refuses IPv6 peers (and takes IPv4 ones); an AF_INET6 listener on
# :: takes both (IPv4 peers as ::ffff:a.b.c.d) unless IPV6_V6ONLY; the names (getsockname,
# getpeername, accept's address) and IPv6 options of AF_INET6 engine sockets; socat echo and a
# bulk with SHA-256 both ways over IPv6 (engine -> Linux through connect() to an IPv6 peer);
# link-local and loopback stay the kernel's.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/netns.sh
. tests/lib/engine.sh

BUILD=${FTOE_BUILD:-build}
BIN=$PWD/$BUILD/bin
BULK_MB=${POSIX_IPV6_BULK_MB:-32}
need_files "$BIN/flextoe" "$BIN/flextoe-run" "$PWD/$BUILD/lib/libflextoe-posix.so"
need_tools python3 socat sha256sum

test_init posix-ipv6

ENG_IP6=fd00:86::5
PEER_IP6=fd00:86::2
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}

eng_peer 10.86.0 -w
ip -n "$(ns_name peer)" addr add $PEER_IP6/64 dev veth1 nodad
ip -n "$(ns_name eng)" link set lo up
ns_bg eng "$BIN/flextoe" --iface veth0 --ip $ENG_IP/24 --ip $ENG_IP6/64 --run-dir "$RUN" \
	>"$TMP/eng.log" 2>&1
t_check "engine starts with an IPv4 and an IPv6 address" wait_for "$TMP/eng.log" "ready:"
t_check "application socket exists" wait_cmd 5 test -S "$RUN/flextoe.sock"

app() { ns_exec eng timeout 30 "$BIN/flextoe-run" --run-dir "$RUN" -- "$@"; }
app_bg() { ns_bg eng timeout 60 "$BIN/flextoe-run" --run-dir "$RUN" -- "$@"; }

# peer_try FAMILY HOST PORT: one line sent, its echo back; prints "echo" or the error's name
peer_try() {
	ns_exec peer timeout 10 python3 -c '
import socket, sys
fam = socket.AF_INET6 if sys.argv[1] == "6" else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.settimeout(3)
try:
    s.connect((sys.argv[2], int(sys.argv[3])))
    s.sendall(b"ping\n")
    d = b""
    while not d.endswith(b"\n"):
        c = s.recv(100)
        if not c:
            break
        d += c
    print("echo" if d == b"ping\n" else "bad %r" % d)
except OSError as e:
    print(type(e).__name__)
' "$@"
}

# ---- the bug: an AF_INET listener must not get IPv6 peers -----------------------------
app_bg socat TCP4-LISTEN:9001,reuseaddr,fork EXEC:cat >"$TMP/l4.log" 2>&1
wait_cmd 5 sh -c "[ \"\$(ip netns exec $(ns_name peer) python3 -c 'import socket; s=socket.socket(); s.settimeout(1); print(s.connect_ex((\"$ENG_IP\", 9001)))')\" = 0 ]"
t_check "AF_INET listener (socat TCP4-LISTEN): an IPv4 peer gets its echo" \
	test "$(peer_try 4 $ENG_IP 9001)" = echo
t_check "... an IPv6 peer is refused, as by Linux (no accept with peer 0.0.0.0)" \
	test "$(peer_try 6 $ENG_IP6 9001)" = ConnectionRefusedError

# ---- AF_INET6 listeners: names, dual stack, IPV6_V6ONLY, options ----------------------
cat >"$TMP/srv6.py" <<'PY'
import socket, sys
port, v6only = int(sys.argv[1]), sys.argv[2] == "1"
l = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if v6only else 0)
l.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, 0x20)
l.bind(("::", port))
l.listen(8)
print("domain", l.getsockopt(socket.SOL_SOCKET, socket.SO_DOMAIN) == socket.AF_INET6)
print("v6only", l.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY))
print("tclass", l.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS))
try:
    l.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    print("v6only-after-listen set")
except OSError as e:
    print("v6only-after-listen", e.errno)
print("lname", l.getsockname()[0], l.getsockname()[1], flush=True)
for _ in range(int(sys.argv[3])):
    c, a = l.accept()
    print("accept", a[0], c.getpeername()[0], c.getsockname()[0], c.getsockname()[1], flush=True)
    d = c.recv(100)
    c.sendall(d)
    c.close()
PY
app_bg python3 "$TMP/srv6.py" 9002 0 2 >"$TMP/s6.log" 2>&1
t_check "AF_INET6 listener on :: is up" wait_for "$TMP/s6.log" "^lname" 10
t_check "... SO_DOMAIN AF_INET6, IPV6_V6ONLY 0, IPV6_TCLASS kept" \
	grep -qzP "domain True\nv6only 0\ntclass 32\n" "$TMP/s6.log"
t_check "... IPV6_V6ONLY once bound: EINVAL (22), as Linux" grep -q "^v6only-after-listen 22" "$TMP/s6.log"
t_check "... getsockname: :: and the port" grep -q "^lname :: 9002" "$TMP/s6.log"
t_check "... an IPv6 peer gets its echo" test "$(peer_try 6 $ENG_IP6 9002)" = echo
t_check "... accept, getpeername, getsockname: the IPv6 addresses" \
	wait_for "$TMP/s6.log" "^accept $PEER_IP6 $PEER_IP6 $ENG_IP6 9002" 5
t_check "... an IPv4 peer too (dual stack)" test "$(peer_try 4 $ENG_IP 9002)" = echo
t_check "... named ::ffff:a.b.c.d on both ends" \
	wait_for "$TMP/s6.log" "^accept ::ffff:$PEER_IP ::ffff:$PEER_IP ::ffff:$ENG_IP 9002" 5

app_bg python3 "$TMP/srv6.py" 9003 1 1 >"$TMP/s6only.log" 2>&1
t_check "IPV6_V6ONLY listener is up" wait_for "$TMP/s6only.log" "^lname" 10
t_check "... an IPv4 peer is refused" test "$(peer_try 4 $ENG_IP 9003)" = ConnectionRefusedError
t_check "... an IPv6 peer gets its echo" test "$(peer_try 6 $ENG_IP6 9003)" = echo

# an AF_INET listener and an IPV6_V6ONLY one on the same port (redis "bind * -::*", nginx
# "listen 80; listen [::]:80"): both the engine's, each gets its family's peers
cat >"$TMP/both.py" <<'PY'
import select, socket
l4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
l4.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l4.bind(("0.0.0.0", 9040)); l4.listen(4)
l6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
l6.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
l6.bind(("::", 9040)); l6.listen(4)
print("both up", flush=True)
for _ in range(2):
    r, _, _ = select.select([l4, l6], [], [], 10)
    for l in r:
        c, a = l.accept()
        print("got", "v4" if l is l4 else "v6", a[0], flush=True)
        c.sendall(c.recv(100)); c.close()
PY
app_bg python3 "$TMP/both.py" >"$TMP/both.log" 2>&1
t_check "AF_INET and IPV6_V6ONLY listeners on one port both listen" wait_for "$TMP/both.log" "^both up" 10
both_got() { # FAMILY HOST WHO ADDR: the echo, and which listener accepted the peer
	[ "$(peer_try "$1" "$2" 9040)" = echo ] && wait_for "$TMP/both.log" "^got $3 $4" 5
}
t_check "... an IPv4 peer: the AF_INET one" both_got 4 $ENG_IP v4 $PEER_IP
t_check "... an IPv6 peer: the AF_INET6 one" both_got 6 $ENG_IP6 v6 $PEER_IP6

# ---- the engine's connect() to an IPv6 peer, and what stays the kernel's ---------------
ns_bg peer socat TCP6-LISTEN:9010,reuseaddr,fork EXEC:cat
cat >"$TMP/cli6.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.settimeout(5)
s.connect((sys.argv[1], 9010))
s.sendall(b"hello6\n")
d = s.recv(100)
ln, pn = s.getsockname(), s.getpeername()
print("client", d == b"hello6\n", ln[0], pn[0], pn[1])
PY
wait_cmd 5 sh -c "ip netns exec $(ns_name peer) ss -Hltn | grep -q ':9010'"
app python3 "$TMP/cli6.py" $PEER_IP6 >"$TMP/c6.out" 2>&1
t_check "AF_INET6 connect() to the Linux peer: echo, getsockname the engine's, getpeername the peer's" \
	grep -q "^client True $ENG_IP6 $PEER_IP6 9010" "$TMP/c6.out"
app_bg python3 "$TMP/srv6.py" 9020 0 1 >"$TMP/slo.log" 2>&1
wait_for "$TMP/slo.log" "^lname" 10 >/dev/null
ns_exec eng timeout 10 python3 -c '
import socket
s = socket.create_connection(("::1", 9020), timeout=3); s.sendall(b"x"); print("lo", s.recv(10))' \
	>"$TMP/lo.out" 2>&1
t_check "loopback ::1 to an engine listener on :: is served by the kernel" grep -q "^lo b'x'" "$TMP/lo.out"
fe=$(ip -n "$(ns_name peer)" -6 addr show dev veth1 scope link | awk '/inet6/ { sub("/.*", "", $2); print $2 }')
app python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.settimeout(3)
try:
    s.connect((sys.argv[1], 9010, 0, socket.if_nametoindex("veth0")))
    s.sendall(b"ll\n"); print("ll", s.recv(10))
except OSError as e:
    print("ll", type(e).__name__)' "$fe" >"$TMP/ll.out" 2>&1
t_check "a link-local peer (%veth0) is the kernel's: its echo" grep -q "^ll b'll" "$TMP/ll.out"

# ---- bulk with SHA-256 both ways over IPv6 (socat unmodified) ----------------------------
head -c $((BULK_MB << 20)) /dev/urandom >"$TMP/blob"
want=$(sha256sum <"$TMP/blob" | cut -d' ' -f1)
app_bg sh -c "socat -u TCP6-LISTEN:9030,reuseaddr - | sha256sum >$TMP/in.sum"
sleep 0.5
t0=$SECONDS
ns_exec peer timeout 60 socat -u OPEN:"$TMP/blob" TCP6:[$ENG_IP6]:9030
wait_cmd 20 test -s "$TMP/in.sum"
t_check "Linux -> engine over IPv6, $BULK_MB MiB: SHA-256 matches ($((SECONDS - t0)) s)" \
	test "$(cut -d' ' -f1 "$TMP/in.sum")" = "$want"
ns_bg peer sh -c "socat -u TCP6-LISTEN:9032,reuseaddr - | sha256sum >$TMP/out.sum"
wait_cmd 5 sh -c "ip netns exec $(ns_name peer) ss -Hltn | grep -q ':9032'"
t0=$SECONDS
app socat -u OPEN:"$TMP/blob" TCP6:[$PEER_IP6]:9032
wait_cmd 20 test -s "$TMP/out.sum"
t_check "engine -> Linux over IPv6 (connect), $BULK_MB MiB: SHA-256 matches ($((SECONDS - t0)) s)" \
	test "$(cut -d' ' -f1 "$TMP/out.sum")" = "$want"
t_summary

#!/usr/bin/env bash
# xdpdump_pcap.sh - xdpdump's own XDP program (Debian's xdpdump_xdp.o) captures a TCP conversation in the runtime: its perf samples are read back through the runtime's perf consumer, written as pcap, and tshark reads the same frames as went in.
#
# tests/compat/tcp_conv_pcap.py writes the frames of one TCP conversation
# (generated: on this machine packet sockets do not see TCP between two
# Linux namespaces, so tcpdump cannot record a live one);
# tests/compat/xdpdump_pcap runs every frame through xdpdump's program
# (JIT, interpreter; full frames and a 64-byte snaplen) and writes what
# the program's bpf_perf_event_output samples carry.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
source tests/lib/netns.sh

BUILD=${FTOE_BUILD:-${BUILD:-build}}
TOOL=$BUILD/tests/compat/xdpdump_pcap
OBJ=${XDPFILT_DIR:-/usr/lib/x86_64-linux-gnu/bpf}/xdpdump_xdp.o
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

if [[ ! -x $TOOL || ! -f $OBJ ]]; then
	t_fail "$TOOL and $OBJ exist (make; scripts/deps.sh)"; t_summary; exit
fi
python3 tests/compat/tcp_conv_pcap.py "$TMP/in.pcap"

fields=(-T fields -e frame.len -e ip.src -e tcp.srcport -e tcp.flags -e tcp.seq_raw -e tcp.payload)
tshark -r "$TMP/in.pcap" "${fields[@]}" >"$TMP/in.txt" 2>/dev/null
n=$(wc -l <"$TMP/in.txt")
t_check "the conversation's pcap reads back ($n frames, SYN and 1400 payload bytes)" \
	bash -c "[[ $n -ge 10 ]] && grep -q '0x0002' '$TMP/in.txt' && awk -F'\t' 'length(\$6) == 2800' '$TMP/in.txt' | grep -q ."

# same_frames A B: tshark's fields of both captures agree, and there are some.
same_frames() { [[ $n -gt 0 && -s $2 ]] && cmp -s "$1" "$2"; }

for engine in jit interp; do
	out=$("$TOOL" --engine "$engine" "$OBJ" "$TMP/in.pcap" "$TMP/out-$engine.pcap" 2>&1)
	t_check "$engine: every frame sampled, none lost ($out)" \
		grep -q "^$n frames run ($n passed), $n samples written, 0 lost, 0 malformed$" <<<"$out"
	tshark -r "$TMP/out-$engine.pcap" "${fields[@]}" >"$TMP/out-$engine.txt" 2>/dev/null
	t_check "$engine: tshark reads the same $n frames from the capture" \
		same_frames "$TMP/in.txt" "$TMP/out-$engine.txt"
done

# snaplen 64: xdpdump's cap_len cuts the frame, pkt_len keeps its length.
"$TOOL" --snaplen 64 "$OBJ" "$TMP/in.pcap" "$TMP/out-64.pcap" >/dev/null 2>&1
tshark -r "$TMP/in.pcap" -T fields -e frame.len >"$TMP/len-in.txt" 2>/dev/null
tshark -r "$TMP/out-64.pcap" -T fields -e frame.len -e frame.cap_len >"$TMP/len-64.txt" 2>/dev/null
t_check "snaplen 64: frames cut to 64 bytes, their lengths kept" \
	bash -c "paste '$TMP/len-in.txt' '$TMP/len-64.txt' | awk -F'\t' '
		{ if (\$1 != \$2 || \$3 != (\$1 < 64 ? \$1 : 64)) bad++; n++ }
		END { exit !(n == $n && n > 0 && !bad) }'"

t_summary

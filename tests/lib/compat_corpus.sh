# compat_corpus.sh - the compatibility corpus's objects, listed once (sourced by tests/compat/run.sh and bench/compat_bench.sh).
#
# Sets DEB (Debian's object folder), CONFIGS, the arrays debian (objects
# of $DEB, without .o) and local_progs (tests/progs/NAME.bpf.c, built
# into $BUILD/tests/progs), and args_of NAME, which puts the object's
# load-time settings (tests/diff/configs/NAME.args) into the array args.
DEB=${XDPFILT_DIR:-/usr/lib/x86_64-linux-gnu/bpf}
CONFIGS=tests/diff/configs

# Debian's objects (scripts/deps.sh installs xdp-tools and libxdp).
debian=(xdp-dispatcher xsk_def_xdp_prog xsk_def_xdp_prog_5.3 xdpdump_xdp)
for mode in alw dny; do
	for feat in all eth ip tcp udp; do
		debian+=("xdpfilt_${mode}_${feat}")
	done
done
# Written here, each after a real project's use of a feature.
local_progs=(ld_mixed ld_redirect ld_spinlock ld_tailcall ld_legacy ld_globals
	     ld_acqrel ld_maygoto ld_bpf_for ld_lb_mim ld_fib_fwd ld_synproxy ld_devmap_tx)

args_of() {
	args=()
	if [[ -f $CONFIGS/$1.args ]]; then
		mapfile -t args < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$CONFIGS/$1.args")
	fi
}

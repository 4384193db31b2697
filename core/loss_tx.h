/* loss_tx.h - sender loss recovery state: SACK scoreboard, RACK-TLP marks, undo; owned by the protocol stage. */
#ifndef FTOE_CORE_LOSS_TX_H
#define FTOE_CORE_LOSS_TX_H

#include <stdbool.h>
#include <stdint.h>

/*
 * The sender's half of loss recovery (docs/design.md section 3, "Sender
 * loss recovery"; docs/core.md "Sender").  Pure functions over struct
 * ftoe_lt so the unit tests drive them without an engine; core/protocol.c
 * calls them per ACK and per transmitted segment, the RACK timer through
 * ftoe_proto_loss_timer.
 *
 * Scoreboard (RFC 6675 section 3 style): up to FTOE_LT_BLOCKS SACKed
 * ranges above snd_una, sorted, disjoint and not adjacent, merged over all
 * ACKs rather than the newest ACK's blocks only.  The hole *before* block
 * i (from snd_una or the end of block i-1 to the start of block i) carries
 * its RACK state: hole[i] and ts[i].  Data above the highest block is in
 * flight, never a hole (only an RTO makes it lost: rto_end).
 *
 * A receiver reports a range only while it is among its most recent
 * (Linux keeps 4, three fit beside timestamps), so a range the sender
 * drops is not told again, and a hole RACK opens above the kept ones (or
 * a timeout's walk) resends it.  FTOE_LT_BLOCKS covers the holes of a
 * 4 MiB window at 2 % loss (issue 12: ~58 at once; with 8 the engine
 * resent ~15,000 segments the receiver held).  When every block is in
 * use the lowest are kept: recovery resends from below.
 */
#ifndef FTOE_LT_BLOCKS
#define FTOE_LT_BLOCKS 64
#endif

/* hole[i]: what the sender knows of the hole before blk[i] */
#define FTOE_LT_H_WAIT 0 /* not yet lost: ts = when it was first seen (RACK) */
#define FTOE_LT_H_LOST 1 /* marked lost, to be resent */
#define FTOE_LT_H_SENT 2 /* resent at ts; lost again if not delivered by ts + RTT + reo_wnd */

/* flags */
#define FTOE_LT_F_RECOV    (1u << 0) /* in a recovery episode (until snd_una >= recover) */
#define FTOE_LT_F_RTO      (1u << 1) /* after an RTO: unSACKed data below rto_end is lost */
#define FTOE_LT_F_REORD    (1u << 2) /* reordering seen (RFC 8985 6.1) */
#define FTOE_LT_F_TLP      (1u << 3) /* a tail loss probe is out (RFC 8985 7.3) */
#define FTOE_LT_F_EIFEL    (1u << 4) /* undo_seq/undo_tsval armed (RFC 3522) */
#define FTOE_LT_F_FRTO     (1u << 5) /* after an RTO: only snd_una's segment until an ACK (RFC 5682) */
#define FTOE_LT_F_DSUNDO   (1u << 6) /* rtx[] holds every byte resent this episode (RFC 3708) */
#define FTOE_LT_F_PROBE    (1u << 7) /* a probe or a RACK-timer resend is yet to go: it needs no cwnd room */

/* xflags */
#define FTOE_LT_X_RTO_SACKED (1u << 0) /* a timeout with 3 segments SACKed, counted unless the
					* first ACK after proves it unneeded (core/protocol.c) */
#define FTOE_LT_X_RPROBE     (1u << 1) /* a recovery probe went out; none again until new data
					* is delivered */

/* Retransmitted ranges remembered per episode for D-SACK undo: a D-SACK
 * that covers data never resent is the network's duplicate, not ours. */
#define FTOE_LT_RTX 8

struct ftoe_lt {
	/* first, so an ACK without SACK blocks reads one word (n, flags) */
	uint8_t n;              /* blocks in use */
	uint8_t flags;          /* FTOE_LT_F_* */
	uint8_t reo_mult;       /* RFC 8985 6.2 step 4: RACK.reo_wnd_mult */
	uint8_t reo_persist;    /* recoveries left before reo_mult returns to 1 */
	struct { uint32_t start, end; } blk[FTOE_LT_BLOCKS];
	uint32_t ts[FTOE_LT_BLOCKS];   /* us clock, see FTOE_LT_H_* */
	uint8_t hole[FTOE_LT_BLOCKS];
	uint32_t recover;       /* snd_max when the episode began (RFC 6675 RecoveryPoint) */
	uint32_t rto_end;       /* FTOE_LT_F_RTO: snd_max at the timeout */
	uint32_t dsack_end;     /* reo_mult steps at most once per round trip */
	uint32_t undo_seq;      /* first sequence resent this episode ... */
	uint32_t undo_tsval;    /* ... and the TSval it went out with (Eifel) */
	uint32_t tlp_end;       /* snd_max when the probe went out */
	uint32_t reo_ext_us;    /* longest reordering measured: hole seen to filled */
	uint32_t deliv_us;      /* when an ACK last brought newly delivered data */
	uint16_t rtx_segs;      /* segments resent this episode */
	uint8_t nrtx;           /* FTOE_LT_F_DSUNDO: ranges in rtx[] */
	uint8_t xflags;         /* FTOE_LT_X_* */
	uint32_t rto_sent;      /* FTOE_LT_F_RTO: the RTO's walk has resent up to here */
	/* FTOE_LT_F_DSUNDO: bytes resent this episode and not yet reported
	 * by a D-SACK, sorted, disjoint; none left: every retransmission was
	 * spurious (RFC 3708 2) */
	struct { uint32_t start, end; } rtx[FTOE_LT_RTX];
};

/* One ACK as the scoreboard sees it. */
struct ftoe_lt_ack {
	uint32_t una_prev;      /* snd_una before this ACK */
	uint32_t snd_una;       /* after this ACK */
	uint32_t snd_nxt, snd_max;
	uint32_t now_us;
	uint32_t srtt_us;       /* fills later than this are late news, not reordering */
	uint32_t blk_l[4], blk_r[4]; /* SACK blocks as received, in option order */
	uint8_t nblk;
	/* how far this ACK's own cumulative ACK lies below snd_una: an ACK
	 * overtaken by a later one (0: it is the newest) */
	uint32_t ack_behind;
	uint32_t forgot;        /* out: SACKed bytes the scoreboard could not keep */
};

/* ftoe_lt_on_ack results */
#define FTOE_LT_R_DSACK    (1u << 0) /* the first block was a D-SACK (RFC 2883 4) */
#define FTOE_LT_R_NEWSACK  (1u << 1) /* newly SACKed data (RACK's evidence of delivery) */
#define FTOE_LT_R_REORDER  (1u << 2) /* data never resent arrived below SACKed data */
#define FTOE_LT_R_FULL     (1u << 3) /* a block did not fit the scoreboard */
#define FTOE_LT_R_DSUNDO   (1u << 4) /* D-SACKs covered every retransmission of the episode */

void ftoe_lt_reset(struct ftoe_lt *lt);
/* Update the scoreboard from one ACK: trim below snd_una, recognise a
 * D-SACK, merge the blocks.  Returns FTOE_LT_R_*; a->forgot gets the
 * SACKed bytes that did not fit (FTOE_LT_R_FULL). */
unsigned ftoe_lt_on_ack(struct ftoe_lt *lt, struct ftoe_lt_ack *a);

/* The reordering window in us (RFC 8985 6.2 step 4, with the measured
 * reordering extent; docs/core.md "Sender").  sacked_segs: whole segments
 * the scoreboard holds. */
uint32_t ftoe_lt_reo_wnd(const struct ftoe_lt *lt, uint32_t min_rtt_us, uint32_t srtt_us,
			 uint32_t sacked_segs);
/* Bytes the scoreboard holds above snd_una. */
uint32_t ftoe_lt_sacked(const struct ftoe_lt *lt);
/* RFC 6675 2 "pipe": bytes in flight, that is sent and neither SACKed nor
 * marked lost (a lost byte resent counts again).  snd_nxt: where the
 * retransmission walk stands. */
uint32_t ftoe_lt_pipe(const struct ftoe_lt *lt, uint32_t snd_una, uint32_t snd_nxt,
		      uint32_t snd_max);
/* A recovery episode (or a timeout) begins: remember its retransmissions
 * for D-SACK undo (RFC 3708). */
void ftoe_lt_undo_arm(struct ftoe_lt *lt);

/* RACK detection (RFC 8985 6.2 step 5): a waiting hole is lost reo_us
 * after it was first seen (it was sent before data that was delivered, so
 * at least an RTT before); a resent one RTT + reo_us after it was resent,
 * once data was delivered after the resend (delivered true, and an ACK
 * with new data since: RACK's evidence that later transmissions got
 * through; without it, a dead peer, the RTO backs off and gives up).  Returns how
 * many holes were newly marked lost; *lowest gets the lowest one's start. */
unsigned ftoe_lt_detect(struct ftoe_lt *lt, uint32_t snd_una, uint32_t now_us,
			uint32_t reo_us, uint32_t rtt_us, bool delivered, uint32_t *lowest);
/* When the next waiting hole (after reo_us) or resent hole with a
 * delivery since its resend (after rtt_us + reo_us) falls due (us clock);
 * false: none is pending. */
bool ftoe_lt_next_due(const struct ftoe_lt *lt, uint32_t reo_us, uint32_t rtt_us,
		      uint32_t *due_us);

/* A hole marked lost and not yet resent (the window held it back). */
bool ftoe_lt_lost_pending(const struct ftoe_lt *lt);
/* The tail of a recovery: everything up to snd_max is SACKed but holes
 * already resent, with no delivery since: nothing in flight can bring
 * RACK its evidence. */
bool ftoe_lt_tail_resent(const struct ftoe_lt *lt, uint32_t snd_una, uint32_t snd_max);
/* Mark the resent holes lost again (the recovery probe); returns how many,
 * *lowest the lowest one's start. */
unsigned ftoe_lt_resent_lost(struct ftoe_lt *lt, uint32_t snd_una, uint32_t *lowest);

/* The retransmission walk: from *snd_nxt, skip SACKed data and holes not
 * marked lost, stop in the next lost hole (or the RTO's lost range).
 * Returns the bytes up to the end of that hole; false when nothing is left
 * to resend (*snd_nxt is then snd_max). */
bool ftoe_lt_walk(struct ftoe_lt *lt, uint32_t snd_una, uint32_t snd_max, uint32_t *snd_nxt,
		  uint32_t *lim);
/* A retransmission of [seq, end) went out: a lost hole it completes
 * becomes FTOE_LT_H_SENT at now_us; the range is remembered for D-SACK
 * undo (a byte resent twice makes a D-SACK ambiguous: undo is off for
 * the episode). */
void ftoe_lt_sent(struct ftoe_lt *lt, uint32_t snd_una, uint32_t seq, uint32_t end,
		  uint32_t now_us);
/* Retransmission timeout: every hole is lost, and everything unSACKed up
 * to snd_max; forget: drop the blocks first (RFC 2018 8: the receiver may
 * have reneged). */
void ftoe_lt_on_rto(struct ftoe_lt *lt, uint32_t snd_una, uint32_t snd_max, bool forget);

#endif

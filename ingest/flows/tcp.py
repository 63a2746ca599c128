"""Per-packet TCP state machine, following Zeek's TCPSessionAdapter::Process.

Used for the packets that can change a connection's state (SYN, FIN, RST, a side's first packet,
anything while a timer is pending). Plain data/ACK packets of established connections take the
vectorised path in ``fast.py`` instead, which must stay equivalent to this code for them.
"""

from __future__ import annotations

from .config import FlowConfig
from .conn import (
    CLOSED,
    ESTABLISHED,
    HANDSHAKE,
    INACTIVE,
    M32,
    PARTIAL,
    RESET,
    SYN_ACK_SENT,
    SYN_SENT,
    Conn,
    Endpoint,
    unwrap,
)

FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10
TOO_LARGE_SEQ_DELTA = 1048576


def scaled_letter(conn: Conn, letter: str, count: int, threshold: int) -> tuple[int, int]:
    """Zeek's ScaledHistoryEntry: the letter at the 1st, 10th, 100th... occurrence."""
    count += 1
    if count == threshold:
        conn.history += letter
        threshold *= 10
    return count, threshold


def set_state(conn: Conn, ep: Endpoint, peer: Endpoint, new: int) -> None:
    # Zeek switches to the TCP inactivity timeout once one side leaves the handshake states.
    if new != ep.state and new not in HANDSHAKE and ep.state in HANDSHAKE and peer.state in HANDSHAKE:
        conn.tcp_timeout = True
    ep.set_state(new)


def tcp_packet(
    conn: Conn,
    is_orig: bool,
    flags: int,
    seq: int,
    ack: int,
    length: int,
    win: int,
    ts: float,
    cfg: FlowConfig,
) -> None:
    ep, peer = (conn.o, conn.r) if is_orig else (conn.r, conn.o)
    syn, fin, rst, has_ack = flags & SYN, flags & FIN, flags & RST, flags & ACK
    seg_len = length + (1 if syn else 0) + (1 if fin else 0) - (length if rst else 0)

    # init_endpoint
    state = ep.state
    if state == INACTIVE:
        if syn:
            ep.init_seq(seq, seq + seg_len)
        else:
            ep.init_seq(seq - 1, seq)
            ep.sref, ep.sabs = seq, seq
    elif syn and (
        (
            state in (SYN_SENT, SYN_ACK_SENT, ESTABLISHED, PARTIAL)
            and (seq != ep.start & M32 or state > SYN_ACK_SENT)
        )
        or (state == RESET and ep.prev_state == INACTIVE)
    ):
        base = unwrap(ep.sref, ep.sabs, seq)
        ep.init_seq(base, base + seg_len)
    abs_seq = ep.sabs + ((seq - ep.sref + 0x80000000) & M32) - 0x80000000  # conn.unwrap, inlined
    ep.sref, ep.sabs = seq, abs_seq
    rel_seq = abs_seq - ep.start

    if flags & (SYN | FIN | RST):
        _update_history(conn, ep, is_orig, flags, rel_seq, length)
    elif length:
        conn.check_history("D" if is_orig else "d")
    elif has_ack:
        conn.check_history("A" if is_orig else "a")

    if win == 0 and not rst and peer.state != CLOSED and ep.state != RESET:
        ep.w0_cnt, ep.w0_thr = scaled_letter(conn, "W" if is_orig else "w", ep.w0_cnt, ep.w0_thr)

    if not (conn.o.did_close and conn.r.did_close):
        conn.last_time = ts
    if fin:
        ep.fin_cnt += 1

    if has_ack:
        if peer.state == INACTIVE:
            peer.init_seq(ack - 1, ack - 1)
        else:
            abs_ack = peer.aabs + ((ack - peer.aref + 0x80000000) & M32) - 0x80000000
            peer.aref, peer.aabs = ack, abs_ack
            if not rst and abs_ack > peer.ack and not (ack == 0 and abs_ack - peer.ack > TOO_LARGE_SEQ_DELTA):
                peer.ack = abs_ack

    # update_last_seq
    end = abs_seq + seg_len
    delta = end - ep.last
    if (syn or rst) and (delta > TOO_LARGE_SEQ_DELTA or delta < -TOO_LARGE_SEQ_DELTA):
        pass
    elif fin and ep.last == ep.start + 1:
        ep.last = end
    elif ep.state == RESET:
        pass
    elif delta > 0:
        if seg_len > 0 and not syn and abs_seq > ep.last:
            # Sequence space skipped: bytes we never saw (Zeek reports them as a content gap).
            ep.missed += abs_seq - ep.last
            ep.gap_cnt, ep.gap_thr = scaled_letter(conn, "G" if is_orig else "g", ep.gap_cnt, ep.gap_thr)
        ep.last = end
    elif length > 0:
        ep.rx_cnt, ep.rx_thr = scaled_letter(conn, "T" if is_orig else "t", ep.rx_cnt, ep.rx_thr)

    # Plain packets change no state except a side's first one (Zeek's UpdateStateMachine).
    if (flags & (SYN | FIN | RST) or ep.state == INACTIVE) and _state_machine(
        conn, ep, peer, is_orig, flags, seq, ack, length, ts, cfg
    ):
        _connection_closed(conn, ep, peer, ts, cfg)


def _update_history(conn: Conn, ep: Endpoint, is_orig: bool, flags: int, rel_seq: int, length: int) -> None:
    """Zeek's update_history for packets with SYN, FIN or RST (plain ones are inlined by the caller)."""
    syn, fin, rst = flags & SYN, flags & FIN, flags & RST
    bits = (1 if syn else 0) + (1 if fin else 0) + (1 if rst else 0)
    lower = not is_orig
    if bits > 1:
        letter = "I" if fin and rst else "Q"
        conn.check_history(letter.lower() if lower else letter)
    elif bits == 1:
        if syn:
            letter = "H" if flags & ACK else "S"
            letter = letter.lower() if lower else letter
            if conn.check_history(letter) and rel_seq != ep.h_syn:
                conn.history += letter
            ep.h_syn = rel_seq
        elif fin:
            letter = "f" if lower else "F"
            if conn.check_history(letter) and rel_seq + length != ep.h_fin:
                conn.history += letter
            ep.h_fin = rel_seq + length
        else:
            letter = "r" if lower else "R"
            if conn.check_history(letter) and rel_seq != ep.h_rst:
                conn.history += letter
            ep.h_rst = rel_seq


def _fin_or_rst(conn: Conn, ep: Endpoint, peer: Endpoint, fin: int, rst: int) -> bool:
    """A FIN closes, then a RST resets (both may come in one segment); True when the connection closes."""
    if fin:
        set_state(conn, ep, peer, CLOSED)
    if rst:
        set_state(conn, ep, peer, RESET)
    return bool(fin or rst)


def _state_machine(
    conn: Conn, ep: Endpoint, peer: Endpoint, is_orig: bool, flags: int, seq: int, ack: int, length: int,
    ts: float, cfg: FlowConfig,
) -> bool:  # fmt: skip
    """Zeek's UpdateStateMachine; returns do_close."""
    syn, fin, rst, has_ack = flags & SYN, flags & FIN, flags & RST, flags & ACK
    state = ep.state
    do_close = False
    if state == INACTIVE:
        if syn:
            if is_orig:
                set_state(conn, ep, peer, SYN_ACK_SENT if has_ack else SYN_SENT)
                if cfg.tcp_attempt_delay:
                    conn.attempt_at = min(conn.attempt_at, ts + cfg.tcp_attempt_delay)
            else:
                if not has_ack and peer.state == SYN_ACK_SENT and seq == ep.start & M32:
                    # SYN and SYN-ACK seen in reverse order: flip roles, then establish.
                    conn.flip()
                    ep, peer = peer, ep  # roles swapped; the sender is now the originator
                    set_state(conn, peer, ep, ESTABLISHED)
                    conn.attempt_at = float("inf")
                if peer.state == SYN_SENT:
                    set_state(conn, peer, ep, ESTABLISHED)
                set_state(conn, ep, peer, ESTABLISHED)
        if _fin_or_rst(conn, ep, peer, fin, rst):
            do_close = True
        if ep.state == INACTIVE:
            if not is_orig and length == 0 and conn.o.state == SYN_SENT:
                pass  # an ACK of the SYN before the SYN-ACK does not make a partial connection
            elif has_ack and peer.state == ESTABLISHED:
                set_state(conn, ep, peer, ESTABLISHED)  # missed the SYN, saw the SYN-ACK
            else:
                set_state(conn, ep, peer, PARTIAL)
    elif state in (SYN_SENT, SYN_ACK_SENT):
        if _fin_or_rst(conn, ep, peer, fin, rst):
            do_close = True
    elif state in (ESTABLISHED, PARTIAL):
        if syn and state == PARTIAL and peer.state == INACTIVE and not has_ack:
            set_state(conn, ep, peer, SYN_SENT)
        if fin and not rst:
            set_state(conn, ep, peer, CLOSED)
            if peer.state == RESET and peer.prev_state == CLOSED:
                peer.set_state(CLOSED)  # FIN then RST from the peer was a normal close
            do_close = True
        if rst:
            set_state(conn, ep, peer, RESET)
            do_close = True
    elif state == CLOSED and rst and peer.state != CLOSED:
        set_state(conn, ep, peer, RESET)
        if not ep.did_close:
            do_close = True
        if cfg.tcp_reset_delay:
            conn.delete_at = min(conn.delete_at, ts + cfg.tcp_reset_delay)
    return do_close


def _connection_closed(conn: Conn, ep: Endpoint, peer: Endpoint, ts: float, cfg: FlowConfig) -> None:
    """Zeek's ConnectionClosed: schedule removal once the close is complete (or half-complete)."""
    if ep.did_close:
        return
    ep.did_close = True
    if ep.state == RESET or peer.did_close or peer.state == INACTIVE:
        conn.delete_at = min(conn.delete_at, conn.last_time + cfg.tcp_close_delay)
    elif cfg.tcp_partial_close_delay:
        conn.partial_at = min(conn.partial_at, ts + cfg.tcp_partial_close_delay)


def is_reuse(conn: Conn, flags: int, seq: int) -> bool:
    """Zeek's IsReuse: a new initial SYN on this 5-tuple starts a new connection."""
    if not flags & SYN:
        return False
    conn_orig = conn.o
    if flags & ACK:
        if conn.o.state != INACTIVE:
            return False
        conn_orig = conn.r
    if not (conn.o.did_close or conn.r.did_close):
        if seq == conn_orig.start & M32:
            return False
        if (
            not flags & ACK
            and conn_orig.state == SYN_ACK_SENT
            and conn.r.state == INACTIVE
            and seq == conn.r.start & M32
        ):
            return False
    return True


def timer_due(conn: Conn, t: float, timeout: float) -> float | None:
    """Fire this connection's timers due before ``t`` (in time order, against its current state).

    Returns the time it is removed at, or None if it lives on (fired timers that found nothing to
    do are cleared).
    """
    while True:
        idle_at = conn.last_time + timeout
        due = min(conn.attempt_at, conn.partial_at, conn.delete_at, idle_at)
        if due >= t:
            return None
        if due == idle_at or due == conn.delete_at:
            return due
        o, r = conn.o, conn.r
        if due == conn.attempt_at:
            conn.attempt_at = float("inf")
            if o.state in (SYN_SENT, SYN_ACK_SENT) and r.state == INACTIVE:
                return due
        else:
            conn.partial_at = float("inf")
            if (
                o.state != INACTIVE
                and r.state != INACTIVE
                and not (o.did_close and r.did_close)
                and o.state != RESET
                and r.state != RESET
            ):
                return due

#!/usr/bin/env python3
"""redis_check.py - RESP checks against redis-server: a large value round trip, and clients that keep working across a BGSAVE."""
# Usage:
#   redis_check.py HOST PORT bigvalue BYTES     SET then GET a random value, byte-exact
#   redis_check.py HOST PORT bgsave CLIENTS     CLIENTS connections do SET/GET while
#                                              BGSAVE forks; checks it succeeds and
#                                              that every reply stayed correct
# Prints "ok ..." or "FAIL ..." (exit 1).
import random
import socket
import sys
import threading
import time


class Conn:
    def __init__(self, host, port):
        self.s = socket.create_connection((host, port), timeout=30)
        self.buf = bytearray()

    def _fill(self):
        chunk = self.s.recv(1 << 20)
        if not chunk:
            raise EOFError("connection closed by the server")
        self.buf.extend(chunk)

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        i = self.buf.index(b"\r\n")
        line = bytes(self.buf[:i])
        del self.buf[:i + 2]
        return line

    def cmd(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.s.sendall(b"".join(out))
        return self.reply()

    def reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t in (b"+", b":"):
            return rest
        if t == b"-":
            raise RuntimeError("error reply: %s" % rest.decode())
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._fill()
            data = bytes(self.buf[:n])
            del self.buf[:n + 2]
            return data
        raise RuntimeError("unexpected reply %r" % line)


def info_field(c, field):
    for line in c.cmd("INFO", "persistence").split(b"\r\n"):
        if line.startswith(field.encode() + b":"):
            return line.split(b":", 1)[1].decode()
    return None


def bigvalue(host, port, size):
    c = Conn(host, port)
    val = random.Random(size).randbytes(size)
    if c.cmd("SET", "big", val) != b"OK":
        return "SET did not answer OK"
    back = c.cmd("GET", "big")
    if back != val:
        return "GET returned %s bytes, differing from the %d stored" % (
            "no" if back is None else len(back), size)
    return None


def bgsave(host, port, nclients):
    stop = threading.Event()
    errors, counts = [], [0] * nclients

    def client(i):
        try:
            c = Conn(host, port)
            rnd = random.Random(i)
            while not stop.is_set():
                key, val = "c%d-%d" % (i, counts[i] % 500), rnd.randbytes(rnd.randrange(1, 4096))
                if c.cmd("SET", key, val) != b"OK" or c.cmd("GET", key) != val:
                    errors.append("client %d: wrong reply after %d ops" % (i, counts[i]))
                    return
                counts[i] += 1
        except Exception as e:  # noqa: BLE001
            errors.append("client %d: %s: %s" % (i, type(e).__name__, e))

    ctl = Conn(host, port)
    # something worth saving, so the child runs for a moment
    for i in range(2000):
        ctl.cmd("SET", "fill%d" % i, "x" * 1000)
    threads = [threading.Thread(target=client, args=(i,)) for i in range(nclients)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    before = sum(counts)
    last = ctl.cmd("LASTSAVE")
    reply = ctl.cmd("BGSAVE")
    deadline = time.time() + 30
    while time.time() < deadline:
        if info_field(ctl, "rdb_bgsave_in_progress") == "0" and ctl.cmd("LASTSAVE") != last:
            break
        time.sleep(0.05)
    else:
        stop.set()
        return "BGSAVE (%s) did not finish in 30 s" % reply
    status = info_field(ctl, "rdb_last_bgsave_status")
    time.sleep(0.5)  # the clients go on after the child exits
    stop.set()
    for t in threads:
        t.join()
    if errors:
        return "; ".join(errors)
    if status != "ok":
        return "rdb_last_bgsave_status:%s" % status
    if sum(counts) <= before:
        return "the clients made no progress around the BGSAVE"
    # the listener survived the child's exit: a new connection still works
    if Conn(host, port).cmd("PING") != b"PONG":
        return "no PONG on a new connection after BGSAVE"
    print("# bgsave: %s; %d client ops, %d after it started" % (reply.decode(), sum(counts), sum(counts) - before))
    return None


def main():
    host, port, what, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    err = bigvalue(host, port, n) if what == "bigvalue" else bgsave(host, port, n)
    if err:
        print("FAIL", err)
        sys.exit(1)
    print("ok", what, n)


main()

#!/usr/bin/env python3
# peer.py - the Linux peer of posix-test (tests/integration/posix_basic.sh): echo, silent and
# closing servers, and a control port that dials the engine's listeners on request.
import socket, sys, threading, time

ENGINE = sys.argv[1]
BASE = int(sys.argv[2])


def serve(port, handler):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(64)
    def loop():
        while True:
            c, _ = s.accept()
            threading.Thread(target=handler, args=(c,), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()


def echo(c):
    while True:
        d = c.recv(65536)
        if not d:
            break
        c.sendall(d)
    c.close()


held = []
def silent(c):
    held.append(c)          # never reads nor writes; stays open


def closer(c):
    c.close()


def sink(c):
    while c.recv(1 << 16):  # reads and drops everything
        pass
    c.close()


def dial(port, msg, delay=0.0):
    s = socket.create_connection((ENGINE, port), timeout=10)
    time.sleep(delay)
    s.sendall(msg)
    s.shutdown(socket.SHUT_WR)
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    s.close()
    return out


def control(c):
    f = c.makefile("rwb")
    for line in f:
        cmd, port, msg = line.decode().split(" ", 2)
        try:
            # "dialslow": the data follows the handshake 300 ms later
            r = dial(int(port), msg.strip().encode(), 0.3 if cmd == "dialslow" else 0.0)
            f.write(b"done " + r + b"\n")
        except Exception as e:  # reported to the test, which fails
            f.write(("error %s\n" % e).encode())
        f.flush()


serve(BASE, control)
serve(BASE + 1, echo)
serve(BASE + 3, silent)
serve(BASE + 4, closer)
serve(BASE + 5, sink)
print("peer ready", flush=True)
threading.Event().wait()

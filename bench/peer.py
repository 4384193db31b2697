# bench/peer.py - the Linux end of the bulk benches (engine_bulk.sh, engine_trace.sh):
#   send HOST PORT BYTES | recv HOST PORT.  No hashing, so Linux does the same
#   work as flextoe-bulk --no-hash; the receiver times accept -> end of stream.
import os, socket, sys, time
mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
n = 0
if mode == "send":
    total = int(sys.argv[4])
    chunk = memoryview(os.urandom(1 << 20))
    s = socket.create_connection((host, port), timeout=60)
    while n < total:
        c = chunk[: min(len(chunk), total - n)]
        s.sendall(c); n += len(c)
    s.shutdown(socket.SHUT_WR)
    s.recv(1)
    s.close()
    print("sent bytes=%d" % n, flush=True)
else:
    ls = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, port)); ls.listen(1)
    print("listening", flush=True)
    s, _ = ls.accept(); s.settimeout(60)
    t0 = time.time()
    buf = bytearray(1 << 20)
    while True:
        r = s.recv_into(buf)
        if not r: break
        n += r
    secs = time.time() - t0
    s.close()
    print("bytes=%d secs=%.3f gbps=%.3f" % (n, secs, n * 8 / secs / 1e9 if secs > 0 else 0), flush=True)

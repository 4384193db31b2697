# bulk_peer.py: the Linux end of a bulk transfer, used by the engine tests.
# send HOST PORT BYTES | recv HOST PORT: Linux end of a bulk transfer; prints bytes=N sha256=HEX.
import hashlib, os, socket, sys, time
mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
h = hashlib.sha256(); n = 0; t0 = time.time()
if mode == "send":
    total = int(sys.argv[4])
    chunk = os.urandom(1 << 20)
    s = socket.create_connection((host, port), timeout=60)
    while n < total:
        c = chunk[: min(len(chunk), total - n)]
        s.sendall(c); h.update(c); n += len(c)
    s.shutdown(socket.SHUT_WR)
    s.recv(1)
    s.close()
else:
    ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, port)); ls.listen(1)
    print("listening", flush=True)
    s, _ = ls.accept(); s.settimeout(60)
    while True:
        b = s.recv(1 << 20)
        if not b: break
        h.update(b); n += len(b)
    s.close()
print("bytes=%d sha256=%s secs=%.3f" % (n, h.hexdigest(), time.time() - t0), flush=True)

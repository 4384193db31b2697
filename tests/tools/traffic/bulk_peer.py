# bulk_peer.py: the Linux end of a bulk transfer, used by the engine tests.
# send HOST PORT BYTES | recv HOST PORT | fetch HOST PORT: Linux end of a bulk
# transfer (fetch: connect, then receive until the engine closes); prints
# "wscale snd=S rcv=R" (the window scales Linux's TCP_INFO reports, "wscale none"
# when the option was not negotiated) and then bytes=N sha256=HEX secs=T.
import hashlib, os, socket, sys, time

TCPI_OPT_WSCALE = 4

def wscale(s):
    # struct tcp_info: byte 5 tcpi_options, byte 6 snd_wscale:4 (low) rcv_wscale:4 (high)
    i = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    if not i[5] & TCPI_OPT_WSCALE:
        return "wscale none"
    return "wscale snd=%d rcv=%d" % (i[6] & 15, i[6] >> 4)

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
    print(wscale(s), flush=True)
    s.recv(1)
    s.close()
else:
    if mode == "fetch":
        s = socket.create_connection((host, port), timeout=60)
    else:
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        ls = socket.socket(fam); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((host, port)); ls.listen(1)
        print("listening", flush=True)
        s, _ = ls.accept(); s.settimeout(60)
    while True:
        b = s.recv(1 << 20)
        if not b: break
        h.update(b); n += len(b)
    print(wscale(s), flush=True)
    s.close()
print("bytes=%d sha256=%s secs=%.3f" % (n, h.hexdigest(), time.time() - t0), flush=True)

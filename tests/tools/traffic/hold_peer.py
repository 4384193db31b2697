# hold_peer.py - Linux peers that move known byte counts over the engine and then hold
# their connections open, for flextoe-stat ss to be compared with what they saw.
#   echo HOST PORT N OUT [SRC2]  N connections to an echo server; connection i sends
#                                1000 + 97*i bytes and reads them back; with SRC2 the odd
#                                ones are bound to that local address
#   send HOST PORT BYTES OUT     one connection sending BYTES (then nothing more)
# Writes OUT (JSON: [{"lport", "laddr", "sent", "received"}]) once done, then waits
# for OUT.close to exist (up to 120 s) and closes everything.
import json, os, socket, sys, time

def wait_close(out):
    for _ in range(2400):
        if os.path.exists(out + ".close"):
            return
        time.sleep(0.05)

def main():
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    socks, rows = [], []
    if mode == "echo":
        n, out = int(sys.argv[4]), sys.argv[5]
        src2 = sys.argv[6] if len(sys.argv) > 6 else None
        for i in range(n):
            s = socket.socket()
            s.settimeout(30)
            if src2 and i % 2:
                s.bind((src2, 0))
            s.connect((host, port))
            socks.append(s)
        for i, s in enumerate(socks):
            data = os.urandom(1000 + 97 * i)
            s.sendall(data)
            got = b""
            while len(got) < len(data):
                b = s.recv(65536)
                if not b:
                    break
                got += b
            if got != data:
                print("conn %d: %d of %d bytes echoed" % (i, len(got), len(data)))
                sys.exit(1)
            la = s.getsockname()
            rows.append({"laddr": la[0], "lport": la[1], "sent": len(data), "received": len(got)})
    else:
        nbytes, out = int(sys.argv[4]), sys.argv[5]
        s = socket.create_connection((host, port), timeout=60)
        socks.append(s)
        block = os.urandom(65536)
        left = nbytes
        while left:
            k = min(left, len(block))
            s.sendall(block[:k])
            left -= k
        la = s.getsockname()
        rows.append({"laddr": la[0], "lport": la[1], "sent": nbytes, "received": 0})
    with open(out + ".tmp", "w") as f:
        json.dump(rows, f)
    os.rename(out + ".tmp", out)
    print("holding %d connections" % len(socks), flush=True)
    wait_close(out)
    for s in socks:
        s.close()

main()

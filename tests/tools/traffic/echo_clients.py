# echo_clients.py HOST PORT NCONN SIZE: NCONN concurrent TCP clients each send SIZE
# random bytes to an echo server and check every byte comes back; the last
# line is 'ok echoed=TOTAL' or 'errors=N'.
import os, socket, sys, threading
host, port, nconn, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
errors = []; total = [0]
def one(i):
    try:
        s = socket.create_connection((host, port), timeout=30)
        data = os.urandom(size)
        got = bytearray()
        def rd():
            while True:
                b = s.recv(65536)
                if not b: break
                got.extend(b)
        t = threading.Thread(target=rd); t.start()
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        t.join(60)
        s.close()
        if bytes(got) != data:
            errors.append("conn %d: %d of %d bytes echoed" % (i, len(got), size))
        else:
            total[0] += len(got)
    except Exception as e:
        errors.append("conn %d: %r" % (i, e))
ts = [threading.Thread(target=one, args=(i,)) for i in range(nconn)]
[t.start() for t in ts]; [t.join(120) for t in ts]
for e in errors[:5]: print(e)
print("ok echoed=%d" % total[0] if not errors else "errors=%d" % len(errors))

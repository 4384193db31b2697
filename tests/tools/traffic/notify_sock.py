# notify_sock.py SOCKET OUT RUN_DIR: a stand-in for systemd's $NOTIFY_SOCKET. Receives the
# sd_notify(3) datagrams at SOCKET and appends them to OUT, one "MSG <fields>" line each;
# with a READY=1 message it also writes which of RUN_DIR's sockets existed at that moment
# ("SOCKETS engine.sock loader.sock ..."). Stops after STOPPING=1 (or 60 s).
import os, socket, sys, time
path, out, run = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(60)
with open(out + ".listening", "w"):
    pass
with open(out, "a") as f:
    while True:
        try:
            msg = s.recv(4096).decode()
        except socket.timeout:
            break
        fields = " ".join(msg.strip().split("\n"))
        f.write("MSG " + fields + "\n")
        if "READY=1" in msg.split("\n"):
            have = [n for n in ("engine.sock", "loader.sock", "flextoe.sock")
                    if os.path.exists(os.path.join(run, n))]
            f.write("SOCKETS " + " ".join(have) + "\n")
        f.flush()
        if "STOPPING=1" in msg.split("\n"):
            break

# posix.sh - shared setup for the POSIX-application tests and benches (source after netns.sh).
#
#   posix_hosts NET              hosts "eng" and "peer" joined by veth0/veth1:
#                                the kernel's address $NET.0.1 on veth0 (in
#                                eng), the peer's $NET.0.2 on veth1; sets
#                                KERN_IP, PEER_IP and ENG_IP ($NET.0.5, for
#                                the engine on veth0).  TSO/GSO/GRO off on both
#                                ends: the engine's AF_XDP frames hold one MTU
#                                (Linux gets the same settings).
#   port_open IP PORT            a TCP connection from the peer host succeeds
#   nginx_conf FILE DIR ROOT     write an nginx.conf: master + 2 workers (user
#                                nobody), daemon off, sendfile on, listen 8080
#                                on 0.0.0.0, serving ROOT; pid, error log and
#                                temp paths in DIR; no access log

posix_hosts() {
	local net=$1
	KERN_IP=$net.0.1
	PEER_IP=$net.0.2
	ENG_IP=$net.0.5
	ns_add eng && ns_add peer || return 1
	ns_link eng veth0 $KERN_IP/24 peer veth1 $PEER_IP/24 || return 1
	ip netns exec "$(ns_name eng)" ethtool -K veth0 tso off gso off gro off >/dev/null 2>&1
	ip netns exec "$(ns_name peer)" ethtool -K veth1 tso off gso off gro off >/dev/null 2>&1
	return 0
}

port_open() {
	ns_exec peer python3 -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()' "$1" "$2"
}

nginx_conf() {
	local file=$1 dir=$2 root=$3
	cat >"$file" <<CONF
daemon off;
master_process on;
worker_processes 2;
user nobody nogroup;
pid $dir/nginx.pid;
error_log $dir/error.log info;
events { worker_connections 1024; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 1000000;
	client_body_temp_path $dir/body;
	proxy_temp_path $dir/proxy;
	fastcgi_temp_path $dir/fastcgi;
	uwsgi_temp_path $dir/uwsgi;
	scgi_temp_path $dir/scgi;
	server {
		listen 8080;
		root $root;
	}
}
CONF
}

#!/bin/sh
# How testdata/redis7.pcap was made (run as root; redis-server 7.0 from
# Debian 12). A network namespace with lo at MTU 1500 and GSO off gives real
# segment sizes.
set -e
ip netns add dissql
ip netns exec dissql ip link set lo mtu 1500 up
ip netns exec dissql ip link set dev lo gso_max_size 1500
D=/tmp/rcap; mkdir -p $D
ip netns exec dissql redis-server --port 6379 --save '' --appendonly no --daemonize yes \
  --pidfile $D/redis.pid --logfile $D/redis.log --dir $D
N="ip netns exec dissql"
$N tcpdump -i lo -w redis7.pcap -U port 6379 & TP=$!; sleep 1
R="$N redis-cli -p 6379"
$R PING; $R SET user:1 alice; $R GET user:1; $R GET missing
$R LPUSH mylist a b c; $R LRANGE mylist 0 299; $R INCR counter
$R GET user:1 extra; $R LPUSH user:1 x; $R NOSUCHCMD foo
$R HSET h f1 v1 f2 v2; $R HGETALL h; $R -3 HGETALL h; $R DEL mylist
$N python3 - <<'PY'
import socket, time
def rd(s):
    time.sleep(0.2); s.settimeout(0.5)
    try:
        while s.recv(65536): pass
    except socket.timeout: pass
def resp(*args):
    b = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        b += b"$%d\r\n%s\r\n" % (len(a), a)
    return b
s = socket.create_connection(("127.0.0.1", 6379))
for c in (b"PING\r\n", b"SET inl hello\r\n", b"GET inl\r\n"):
    s.sendall(c); rd(s)
s.close()
s = socket.create_connection(("127.0.0.1", 6379))
s.sendall(resp("SET", "p1", "v1") + resp("GET", "p1") + resp("INCR", "p1") + resp("LPUSH", "p1", "x") +
          resp("HSET", "p2", "f", "v") + resp("HGETALL", "p2") + resp("PING"))
rd(s)
s.sendall(resp("SET", "k1", "v1") + resp("GET", "k1") + resp("INCR", "k1") +
          resp("RPUSH", "big", *["item-%03d" % i for i in range(300)]) +
          resp("LRANGE", "big", "0", "299") + resp("PING"))
rd(s)
s.sendall(resp("SET", "blob", "x" * 5000)); rd(s)
s.sendall(resp("GET", "blob")); rd(s)
s.sendall(resp("QUIT")); rd(s); s.close()
PY
$R DEL big blob k1 inl h counter user:1 p1 p2
sleep 1; kill $TP; kill $(cat $D/redis.pid); ip netns del dissql

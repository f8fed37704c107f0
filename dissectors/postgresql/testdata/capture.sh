#!/bin/sh
# How testdata/postgres15.pcap was made (run as root; PostgreSQL 15 from
# Debian 12). A network namespace with lo at MTU 1500 and GSO off gives real
# segment sizes.
set -e
ip netns add dissql
ip netns exec dissql ip link set lo mtu 1500 up
ip netns exec dissql ip link set dev lo gso_max_size 1500
D=/tmp/pgcap; mkdir -p $D; chown postgres $D
su postgres -s /bin/bash -c "/usr/lib/postgresql/15/bin/initdb -D $D/data -U postgres \
  --auth-host=scram-sha-256 --auth-local=trust --pwfile=<(echo secret)"
ip netns exec dissql su postgres -s /bin/bash -c "/usr/lib/postgresql/15/bin/pg_ctl -D $D/data \
  -l $D/pg.log -o '-c listen_addresses=127.0.0.1 -c port=5432 -k $D' start"
export PGPASSWORD=secret
N="ip netns exec dissql"
$N psql -h 127.0.0.1 -U postgres -q -c 'create database shop'
$N psql -h 127.0.0.1 -U postgres -d shop -q -c 'create table users(id int primary key, name text);
  insert into users select g, $$user-$$||g from generate_series(1,400) g;'
$N tcpdump -i lo -w postgres15.pcap -U port 5432 & TP=$!; sleep 1
P="$N psql -h 127.0.0.1 -U postgres -d shop"
$P -c 'SELECT id, name FROM users WHERE id < 3'
$P -c 'INSERT INTO orders VALUES (1)' || true
$P -c 'SELEC 1' || true
$P -c 'SELECT 1/0' || true
$P -c 'SELECT id, name FROM users'
$P -c 'BEGIN; UPDATE users SET name = $$bob$$ WHERE id = 1; ROLLBACK'
$P -c 'INSERT INTO users VALUES (1, $$dup$$)' || true
PGPASSWORD=wrong $N psql -h 127.0.0.1 -U postgres -d shop -c 'select 1' || true
$N pgbench -h 127.0.0.1 -U postgres -n -M extended -t 2 -f bench.sql shop
$N pgbench -h 127.0.0.1 -U postgres -n -M prepared -t 3 -f bench.sql shop
sleep 1; kill $TP
$N su postgres -s /bin/bash -c "/usr/lib/postgresql/15/bin/pg_ctl -D $D/data stop"
ip netns del dissql

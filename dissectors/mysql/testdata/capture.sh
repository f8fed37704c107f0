#!/bin/sh
# How testdata/mariadb.pcap was made (run as root; MariaDB 10.11 from Debian 12).
# A network namespace with lo at MTU 1500 and GSO off gives real segment sizes.
set -e
ip netns add dissql
ip netns exec dissql ip link set lo mtu 1500 up
ip netns exec dissql ip link set dev lo gso_max_size 1500
D=/tmp/mycap; mkdir -p $D
mariadb-install-db --no-defaults --datadir=$D/data --user=root --auth-root-authentication-method=normal
ip netns exec dissql mariadbd --no-defaults --datadir=$D/data --user=root --port=3306 \
  --bind-address=127.0.0.1 --socket=$D/sock --pid-file=$D/my.pid --skip-log-bin &
sleep 4
N="ip netns exec dissql"
$N mariadb --no-defaults -S $D/sock -uroot -e "CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY 'secret';
  GRANT ALL ON *.* TO 'app'@'127.0.0.1'; CREATE DATABASE shop;
  CREATE TABLE shop.users(id INT PRIMARY KEY, name VARCHAR(40));"
$N mariadb --no-defaults -S $D/sock -uroot shop -e "INSERT INTO users SELECT seq, CONCAT('user-', seq) FROM seq_1_to_300"
$N tcpdump -i lo -w mariadb.pcap -U port 3306 & TP=$!; sleep 1
M="$N mariadb --no-defaults -h 127.0.0.1 -P 3306 -uapp -psecret --ssl=0"
$M shop -e "SELECT id, name FROM users WHERE id < 3"
$M shop -e "SELECT * FROM users"
$M shop -e "INSERT INTO orders VALUES (1)" || true
$M shop -e "SELEC 1" || true
$M shop -e "SELECT nosuchcol FROM users" || true
$M shop -e "UPDATE users SET name = 'bob' WHERE id = 1; DELETE FROM users WHERE id = 300; INSERT INTO users (id, name) VALUES (300, 'user-300')"
$M nosuchdb -e "SELECT 1" || true
$M -e "USE shop; SELECT COUNT(*) FROM users"
$N mariadb --no-defaults -h 127.0.0.1 -P 3306 -uapp -pwrong --ssl=0 -e "SELECT 1" || true
$M shop -e "INSERT INTO users VALUES (1, 'dup')" || true
$N python3 stmt.py
sleep 1; kill $TP; kill $(cat $D/my.pid); ip netns del dissql

#!/bin/bash
# Regenerates ../h2c.pcap and ../grpc.pcap (as root, for tcpdump on lo): go build -o h2cap . && ./run.sh
set -u
TD=${TD:-..}
./h2cap h2c & S1=$!
./h2cap grpcserver & S2=$!
sleep 0.5
tcpdump -i lo -s 0 -U -w $TD/h2c.pcap 'tcp port 18082' 2>/dev/null & T1=$!
tcpdump -i lo -s 0 -U -w $TD/grpc.pcap 'tcp port 7070' 2>/dev/null & T2=$!
sleep 1
curl -s --http2-prior-knowledge -o /dev/null \
  -H 'traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' 'http://127.0.0.1:18082/api/v1/users/42?verbose=1'
curl -s --http2-prior-knowledge -o /dev/null 'http://127.0.0.1:18082/missing/page'
./h2cap h2cclient
curl -s --http2-prior-knowledge -o /dev/null -X POST -d '{"name":"widget"}' -H 'Content-Type: application/json' \
  -H 'b3: 80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1' 'http://127.0.0.1:18082/boom/x'
./h2cap grpcclient
sleep 1
kill $T1 $T2; wait $T1 $T2
kill $S1 $S2; wait $S1 $S2 2>/dev/null

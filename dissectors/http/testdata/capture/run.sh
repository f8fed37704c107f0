#!/bin/bash
# Regenerates ../http1_errors_trace.pcap (as root, for tcpdump on lo): go build -o h1srv . && ./run.sh
set -u
OUT=${OUT:-../http1_errors_trace.pcap}
./h1srv & SRV=$!
sleep 0.5
tcpdump -i lo -s 0 -U -w $OUT 'tcp port 18080' 2>/dev/null & TD=$!
sleep 1
U=http://127.0.0.1:18080
curl -s -o /dev/null $U'/api/v1/users/42?verbose=1' -H 'traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
curl -s -o /dev/null -X POST -d '{"name":"widget"}' -H 'Content-Type: application/json' -H 'sw8: 1-YTljNGU3ZjJiMWQwNGUzYzhmNmE1YjJjMWQwZTlmOGEuMTAxLjE3MDAwMDAwMDAwMDAwMDAx-NWUwZjNjMmExYjlkNGM4ZS4xMDEuMTcwMDAwMDAwMDAwMDAwMDI=-3-ZnJvbnRlbmQ=-ZnJvbnRlbmQtN2Q5ZkAxMC4wLjAuNQ==-L2FwaS92MS9pdGVtcw==-MTI3LjAuMC4xOjE4MDgw' $U/api/v1/items
curl -s -o /dev/null $U/missing/page -H 'X-B3-TraceId: 463ac35c9f6413ad48485a3953bb6124' -H 'X-B3-SpanId: a2fb4a1d1a96d312'
curl -s -o /dev/null $U/boom/internal/error -H 'b3: 80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90'
curl -s -0 -o /dev/null $U/unavailable -H 'x-request-id: 7f3c1a9e-4b2d-4e8f-9a6c-1d2e3f4a5b6c'
curl -s -I -o /dev/null $U/api/v1/users/7
curl -s -o /dev/null $U/stream/chunks
python3 - <<'PY'
import socket, time
s = socket.create_connection(("127.0.0.1", 18080))
s.sendall(b"GET /a/b/c?x=1 HTTP/1.1\r\nHost: 127.0.0.1:18080\r\nUser-Agent: pipeline-test\r\n\r\n"
          b"POST /api/v1/items HTTP/1.1\r\nHost: 127.0.0.1:18080\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
          b"GET /missing/x HTTP/1.1\r\nHost: 127.0.0.1:18080\r\nConnection: close\r\n\r\n")
time.sleep(0.3)
while s.recv(65536): pass
s.close()
PY
sleep 1
kill $TD; wait $TD
kill $SRV; wait $SRV 2>/dev/null

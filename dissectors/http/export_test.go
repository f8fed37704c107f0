package http

// Payloads for the external tests (fuzz seeds, benchmarks).
var (
	FuzzSeeds = []string{
		getReq, postReq, okResp, getReq + postReq,
		"POST /a HTTP/1.1\r\nsw8: " + sw8 + "\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\nHTTP/1.1 204\r\n\r\n",
		"GET / HTTP/1.1\r\nb3: a-b-1\r\nuber-trace-id: 1:2:0:1\r\ntraceparent: 00-x\r\n\r\n",
	}
	GetReq, PostReq, SW8 = getReq, postReq, sw8
)

package http2

// Payloads and helpers for the external tests (fuzz seeds, benchmarks).

// FuzzSeeds are hand-built payloads covering each frame and HPACK path.
var FuzzSeeds = [][]byte{
	cat(preface, settings, frame(typeHeaders, flagEndHeaders|flagEndStream, 1, c41)),
	cat(frame(typeHeaders, flagEndHeaders|flagEndStream, 1, c41), frame(typeHeaders, flagEndHeaders|flagEndStream, 3, c42)),
	cat(frame(typeHeaders, flagEndHeaders, 1, grpcReq), frame(typeData, flagEndStream, 1, grpcMsg)),
	cat(frame(typeHeaders, flagEndHeaders, 1, grpcResp), frame(typeData, 0, 1, grpcMsg),
		frame(typeHeaders, flagEndHeaders|flagEndStream, 1, grpcTrailers)),
	cat(frame(typeHeaders, 0, 1, grpcReq[:20]), frame(typeContinuation, flagEndHeaders, 1, grpcReq[20:])),
	frame(typeHeaders, flagEndHeaders|flagPadded|flagPriority, 1, cat([]byte{4, 0, 0, 0, 0, 16}, c41, []byte{0, 0, 0, 0})),
	frame(typeHeaders, flagEndHeaders, 5, cat(indexed(3), literalHuff(":path", "/api/v1/items/9?x=1"), literalHuff("b3", "a-b-1"))),
}

// BenchPayload is one benchmark case.
type BenchPayload struct {
	Name     string
	Payload  []byte
	ToServer bool
}

// BenchPayloads are realistic single-segment payloads.
var BenchPayloads = func() []BenchPayload {
	browser := cat(indexed(2), indexed(7), literalHuff(":authority", "shop.example.com"),
		literalHuff(":path", "/api/v1/users/42?verbose=1&fields=name,email"),
		literalHuff("user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"),
		literalHuff("accept", "application/json, text/plain, */*"), indexed(16),
		literalHuff("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"))
	return []BenchPayload{
		{"msg=preface", cat(preface, settings, frame(typeHeaders, flagEndHeaders|flagEndStream, 1, c41)), true},
		{"msg=huffman_request", frame(typeHeaders, flagEndHeaders|flagEndStream, 1, browser), true},
		{"msg=grpc_request", cat(frame(typeHeaders, flagEndHeaders, 1, grpcReq), frame(typeData, flagEndStream, 1, grpcMsg)), true},
		{"msg=grpc_response", cat(frame(typeHeaders, flagEndHeaders, 1, grpcResp), frame(typeData, 0, 1, grpcMsg),
			frame(typeHeaders, flagEndHeaders|flagEndStream, 1, grpcTrailers)), false},
		{"msg=data", frame(typeData, 0, 1, make([]byte, 1400)), false},
	}
}()

// HuffDecode and HuffEncode expose the Huffman coder to the external tests.
var (
	HuffDecode = huffDecode
	HuffEncode = huffEncode
)

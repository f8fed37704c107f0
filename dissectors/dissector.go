package dissectors

// Meta is what a dissector knows of the packet besides its payload.
type Meta struct {
	Timestamp  int64 // µs since the Unix epoch, from the capture
	Proto      uint8 // IP protocol: 6 TCP or 17 UDP
	ClientPort uint16
	ServerPort uint16
	// ToServer: the payload travels client → server (a request direction).
	// The flow table decides who is the client (the SYN's sender, else the
	// higher port).
	ToServer bool
	// PayloadLen is the L4 payload length per the IP header; the payload
	// passed beside it may be shorter when the capture cut the frame.
	PayloadLen uint32
}

// Transport is a set of transports, the IP protocols of Meta.Proto.
type Transport uint8

const (
	TCP Transport = 1 << iota // IP protocol 6
	UDP                       // IP protocol 17
)

// TransportOf returns the Transport of IP protocol proto, 0 for any other.
func TransportOf(proto uint8) Transport {
	switch proto {
	case 6:
		return TCP
	case 17:
		return UDP
	}
	return 0
}

// Dissector parses one L7 protocol. Two optional methods (Transporter,
// FirstByter) tell the engine which payloads Check can never accept, so
// that an unidentified flow's payload is offered only to the dissectors
// that might claim it. The fuzz targets' dtest.Invariants holds each
// dissector to both. Implementations are stateless: one value
// serves every flow of a worker, so all per-message state is in the Records.
type Dissector interface {
	// Protocol is the l7_protocol this dissector produces.
	Protocol() Protocol
	// Check reports whether payload (the first payload of a flow in one
	// direction, or a later one while the flow is still unidentified) is
	// this protocol. It must not allocate. Ports are only a tie-breaker:
	// servers listen on any port.
	Check(payload []byte, m *Meta) bool
	// Parse appends the requests and responses that start in payload to
	// dst and returns it. A payload that continues an earlier message
	// returns dst unchanged and nil. On error dst is returned unchanged.
	// Records are appended with Next, which reuses dst's capacity.
	Parse(dst []Record, payload []byte, m *Meta) ([]Record, error)
}

// Transporter is implemented by a dissector whose Check accepts payloads
// of some transports only: Transports returns them (DNS is the one UDP
// dissector).
type Transporter interface {
	Transports() Transport
}

// FirstByter is implemented by a dissector whose Check tests the first
// payload byte: FirstByte(b) is false when Check refuses every payload
// starting with b.
type FirstByter interface {
	FirstByte(b byte) bool
}

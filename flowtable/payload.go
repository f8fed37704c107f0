package flowtable

import (
	"net/netip"

	"github.com/tapflow/tapflow/tap"
)

// PayloadHandler is the L7 stage as the table sees it (dissectors/engine
// implements it). The table calls it on its own goroutine, so a handler is
// per table like the table is per worker.
type PayloadHandler interface {
	// Payload is called for each TCP or UDP packet that carries payload,
	// after its flow accounted it. v and m are valid only during the call.
	Payload(v *FlowView, m *tap.Meta)
	// FlowEnd is called when the flow in v ends, before its report
	// leaves and before the slot is reused.
	FlowEnd(v *FlowView)
	// Advance is called when the table's clock enters a new second (now,
	// µs) and, with final set, at the end of Flush after every flow ended.
	Advance(now int64, final bool)
}

// FlowView is what the L7 stage learns of a flow: its id, the packet's
// direction, the flow's identity and the word it keeps for the handler.
type FlowView struct {
	ID       uint64
	ToServer bool // the packet goes client → server
	// LastTime is the flow's last packet (µs), for FlowEnd.
	LastTime int64
	// L7 is a word the table keeps in the flow for the handler: zero when
	// the flow starts, then whatever the handler stores (valid until
	// FlowEnd returns). It shares the flow's cache lines, which the packet
	// has just brought in.
	L7       *uint32
	key      *Key
	clientLo bool
}

// Client returns the client's address and port.
func (v *FlowView) Client() (netip.Addr, uint16) {
	if v.clientLo {
		return addr16(v.key.Lo), v.key.LoPort
	}
	return addr16(v.key.Hi), v.key.HiPort
}

// Server returns the server's address and port.
func (v *FlowView) Server() (netip.Addr, uint16) {
	if v.clientLo {
		return addr16(v.key.Hi), v.key.HiPort
	}
	return addr16(v.key.Lo), v.key.LoPort
}

// Ports returns the client's and the server's port.
func (v *FlowView) Ports() (client, server uint16) {
	if v.clientLo {
		return v.key.LoPort, v.key.HiPort
	}
	return v.key.HiPort, v.key.LoPort
}

// Tap returns the flow's tap identity and IP protocol.
func (v *FlowView) Tap() (tapType uint8, tapPort uint32, vlan uint16, proto uint8) {
	return v.key.TapType, v.key.TapPort, v.key.VLAN, v.key.Proto
}

// SetPayloadHandler attaches the L7 stage. Call it before the first Update.
func (t *Table) SetPayloadHandler(h PayloadHandler) {
	t.l7 = h
	t.l7touch, _ = h.(Toucher)
}

// Toucher is a PayloadHandler with per-flow state beyond FlowView.L7 that
// UpdateBatch should bring into the cache ahead of its packets.
type Toucher interface {
	// AppendLines appends the addresses of the cache lines the state that
	// the non-zero L7 word w refers to takes. It must not change anything.
	AppendLines(addrs []uintptr, w uint32) []uintptr
}

// view fills the table's reusable FlowView (a field, so passing it to the
// handler does not allocate) for flow f.
func (t *Table) view(f *flow) *FlowView {
	t.fv = FlowView{ID: f.id, LastTime: f.lastTime(), L7: &f.l7, key: &f.key, clientLo: f.flags&fClientIsLo != 0}
	return &t.fv
}

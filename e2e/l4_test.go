package e2e

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"time"
)

// l4Flow is one line of `tapflow replay FILE --print l4`. Fields the tests do
// not read are ignored, so the printer may add metrics freely.
type l4Flow struct {
	FlowID     *uint64    `json:"flow_id"` // optional; one flow's reports share it
	Proto      string     `json:"proto"`
	IPProto    *uint8     `json:"ip_proto"` // optional; refines "ip"
	ClientIP   netip.Addr `json:"client_ip"`
	ClientPort uint16     `json:"client_port"`
	ServerIP   netip.Addr `json:"server_ip"`
	ServerPort uint16     `json:"server_port"`
	VLAN       uint16     `json:"vlan"`
	CloseType  *int       `json:"close_type"` // optional
	StartTime  time.Time  `json:"start_time"`
	EndTime    time.Time  `json:"end_time"`
	PacketsTx  uint64     `json:"packets_tx"`
	PacketsRx  uint64     `json:"packets_rx"`
	BytesTx    uint64     `json:"bytes_tx"`
	BytesRx    uint64     `json:"bytes_rx"`
}

// parseL4 parses replay's stdout: one JSON object per non-empty line.
func parseL4(stdout []byte) ([]l4Flow, error) {
	var flows []l4Flow
	sc := bufio.NewScanner(bytes.NewReader(stdout))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var f l4Flow
		if err := json.Unmarshal(line, &f); err != nil {
			return flows, fmt.Errorf("stdout line %d: %w: %.200s", n, err, line)
		}
		for _, field := range []string{`"proto"`, `"client_ip"`, `"server_ip"`, `"packets_tx"`, `"packets_rx"`, `"start_time"`} {
			if !bytes.Contains(line, []byte(field)) {
				return flows, fmt.Errorf("stdout line %d: no %s field: %.200s", n, field, line)
			}
		}
		f.ClientIP, f.ServerIP = f.ClientIP.Unmap(), f.ServerIP.Unmap()
		flows = append(flows, f)
	}
	return flows, sc.Err()
}

// check returns the ways one record breaks the l4 contract.
func (f l4Flow) check() []string {
	var v []string
	if !f.ClientIP.IsValid() || !f.ServerIP.IsValid() {
		v = append(v, "client_ip or server_ip missing")
	}
	// A flow that goes quiet after a minute report ends with a report of no
	// packets that carries its close type; a minute report (close type 5)
	// with nothing in it says nothing and must not be written.
	if f.PacketsTx+f.PacketsRx == 0 && (f.CloseType == nil || *f.CloseType == 5) {
		v = append(v, "forced report with no packets")
	}
	if f.BytesTx < f.PacketsTx || f.BytesRx < f.PacketsRx {
		v = append(v, "fewer bytes than packets")
	}
	if f.PacketsTx == 0 && f.BytesTx != 0 || f.PacketsRx == 0 && f.BytesRx != 0 {
		v = append(v, "bytes without packets")
	}
	if f.StartTime.IsZero() || f.EndTime.IsZero() {
		v = append(v, "start_time or end_time missing")
	} else if f.EndTime.Before(f.StartTime) {
		v = append(v, "end_time before start_time")
	}
	return v
}

func (f l4Flow) String() string {
	s := fmt.Sprintf("%s %s -> %s vlan %d [%d pkts/%d bytes <-> %d pkts/%d bytes] %s..%s",
		f.Proto, netip.AddrPortFrom(f.ClientIP, f.ClientPort), netip.AddrPortFrom(f.ServerIP, f.ServerPort),
		f.VLAN, f.PacketsTx, f.BytesTx, f.PacketsRx, f.BytesRx,
		f.StartTime.Format(time.RFC3339Nano), f.EndTime.Format(time.RFC3339Nano))
	if f.FlowID != nil {
		s += fmt.Sprintf(" flow_id %d", *f.FlowID)
	}
	if f.CloseType != nil {
		s += fmt.Sprintf(" close_type %d", *f.CloseType)
	}
	return s
}

// protoNumbers maps lower-case protocol names, as tapflow or ndpiReader print
// them, to IP protocol numbers.
var protoNumbers = func() map[string]uint8 {
	m := make(map[string]uint8, len(ndpiProtoNumbers)+1)
	for name, n := range ndpiProtoNumbers {
		m[strings.ToLower(name)] = n
	}
	m["ipv6-icmp"] = 58
	return m
}()

// protoClass names the protocols the l4 contract names itself; every other
// IP protocol is "ip/N". tapflow prints those as "ip" with the number in
// ip_proto; a record without ip_proto keeps the class "ip" and can only be
// reported as unmatched.
func protoClass(n uint8) string {
	switch n {
	case 1:
		return "icmp"
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 47:
		return "gre"
	case 50:
		return "esp"
	case 58:
		return "icmpv6"
	case 132:
		return "sctp"
	}
	return fmt.Sprintf("ip/%d", n)
}

// classOfName maps a printed protocol name to its class.
func classOfName(name string) string {
	name = strings.ToLower(name)
	if n, ok := protoNumbers[name]; ok {
		return protoClass(n)
	}
	return name
}

// hasPorts reports whether flows of the class are keyed by port. ndpiReader
// prints port 0 for everything but TCP and UDP.
func hasPorts(class string) bool { return class == "tcp" || class == "udp" }

// flowKey is an unordered 5-tuple plus the VLAN id.
type flowKey struct {
	class  string
	lo, hi netip.AddrPort
	vlan   uint16
}

func makeKey(class string, a, b netip.AddrPort, vlan uint16) flowKey {
	a, b = endpoint(class, a), endpoint(class, b)
	if b.Compare(a) < 0 {
		a, b = b, a
	}
	return flowKey{class: class, lo: a, hi: b, vlan: vlan}
}

// endpoint drops the port for classes that have none.
func endpoint(class string, ap netip.AddrPort) netip.AddrPort {
	port := ap.Port()
	if !hasPorts(class) {
		port = 0
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), port)
}

func (k flowKey) String() string {
	s := fmt.Sprintf("%s %s <-> %s", k.class, k.lo, k.hi)
	if k.vlan != 0 {
		s += fmt.Sprintf(" vlan %d", k.vlan)
	}
	return s
}

func (f l4Flow) class() string {
	if f.IPProto != nil {
		return protoClass(*f.IPProto)
	}
	return classOfName(f.Proto)
}

func (f l4Flow) key() flowKey {
	class := f.class()
	return makeKey(class, netip.AddrPortFrom(f.ClientIP, f.ClientPort), netip.AddrPortFrom(f.ServerIP, f.ServerPort), f.VLAN)
}

func ndpiKey(f NDPIFlow) flowKey {
	return makeKey(protoClass(f.IPProto), f.Src, f.Dst, f.VLAN)
}

// linkType returns the link-layer type of the first interface of a pcap or
// pcapng file, or -1 if the header cannot be read.
func linkType(path string) int {
	fh, err := os.Open(path)
	if err != nil {
		return -1
	}
	defer fh.Close()
	var hdr [32]byte
	n, _ := io.ReadFull(fh, hdr[:])
	b := hdr[:n]
	if len(b) < 24 {
		return -1
	}
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4, 0xa1b23c4d: // pcap, little-endian, µs or ns
		return int(binary.LittleEndian.Uint32(b[20:]) & 0x0fffffff)
	case 0xd4c3b2a1, 0x4d3cb2a1: // pcap, big-endian
		return int(binary.BigEndian.Uint32(b[20:]) & 0x0fffffff)
	case 0x0a0d0d0a: // pcapng section header block
		var order binary.ByteOrder = binary.LittleEndian
		if binary.LittleEndian.Uint32(b[8:]) != 0x1a2b3c4d {
			order = binary.BigEndian
		}
		// Walk blocks to the first interface description block.
		off := int64(0)
		for range 64 {
			var bh [12]byte
			if _, err := fh.ReadAt(bh[:], off); err != nil {
				return -1
			}
			typ, size := order.Uint32(bh[:]), order.Uint32(bh[4:])
			if typ == 1 {
				return int(order.Uint16(bh[8:]))
			}
			if size < 12 {
				return -1
			}
			off += int64(size)
		}
	}
	return -1
}

// linkTypeName names the link types seen in the corpora.
func linkTypeName(lt int) string {
	switch lt {
	case 0:
		return "NULL"
	case 1:
		return "EN10MB"
	case 9:
		return "PPP"
	case 12, 101:
		return "RAW"
	case 104:
		return "C_HDLC"
	case 113:
		return "LINUX_SLL"
	case 192:
		return "PPI"
	case 228:
		return "IPV4"
	case 229:
		return "IPV6"
	case 276:
		return "LINUX_SLL2"
	case -1:
		return "unreadable header"
	}
	return fmt.Sprintf("DLT %d", lt)
}

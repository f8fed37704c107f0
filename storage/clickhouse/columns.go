package clickhouse

import (
	"math"
	"net/netip"
	"time"

	"github.com/tapflow/tapflow/flowtable"
)

// l4Cols holds one batch of flow records column-wise, in l4Columns order.
// The slices are reused from batch to batch.
type l4Cols struct {
	time, startTime, endTime                   []time.Time
	startUS, endUS, flowID                     []uint64
	closeType, tapType                         []uint8
	tapPort                                    []uint32
	vlan                                       []uint16
	outerSrc, outerDst                         strCol
	proto, isIPv4                              []uint8
	clientIP4                                  []uint32
	clientIP6                                  [][16]byte
	serverIP4                                  []uint32
	serverIP6                                  [][16]byte
	clientPort, serverPort                     []uint16
	packetsTx, packetsRx, bytesTx, bytesRx     []uint64
	rtt, rttClient, rttServer                  []uint32
	srtSum                                     []uint64
	srtCount                                   []uint32
	srtMax, artSum                             []uint64
	artCount                                   []uint32
	artMax, citSum                             []uint64
	citCount                                   []uint32
	citMax                                     []uint64
	retransTx, retransRx, zeroWinTx, zeroWinRx []uint32
	oooTx, oooRx, lostTx, lostRx               []uint32
	lostBeforeTx, lostBeforeRx                 []uint32
	synCount, synackCount, finCount            []uint32
}

func (*l4Cols) columns() []column { return l4Columns }

// values returns the column slices in l4Columns order.
func (c *l4Cols) values() []any {
	return []any{
		c.time, c.startTime, c.endTime, c.startUS, c.endUS, c.flowID,
		c.closeType, c.tapType, c.tapPort, c.vlan, &c.outerSrc, &c.outerDst,
		c.proto, c.isIPv4, c.clientIP4, c.clientIP6, c.serverIP4, c.serverIP6,
		c.clientPort, c.serverPort,
		c.packetsTx, c.packetsRx, c.bytesTx, c.bytesRx,
		c.rtt, c.rttClient, c.rttServer,
		c.srtSum, c.srtCount, c.srtMax,
		c.artSum, c.artCount, c.artMax,
		c.citSum, c.citCount, c.citMax,
		c.retransTx, c.retransRx, c.zeroWinTx, c.zeroWinRx,
		c.oooTx, c.oooRx, c.lostTx, c.lostRx, c.lostBeforeTx, c.lostBeforeRx,
		c.synCount, c.synackCount, c.finCount,
	}
}

func (c *l4Cols) reset() {
	c.outerSrc.reset()
	c.outerDst.reset()
	*c = l4Cols{
		time: c.time[:0], startTime: c.startTime[:0], endTime: c.endTime[:0],
		startUS: c.startUS[:0], endUS: c.endUS[:0], flowID: c.flowID[:0],
		closeType: c.closeType[:0], tapType: c.tapType[:0], tapPort: c.tapPort[:0], vlan: c.vlan[:0],
		outerSrc: c.outerSrc, outerDst: c.outerDst,
		proto: c.proto[:0], isIPv4: c.isIPv4[:0],
		clientIP4: c.clientIP4[:0], clientIP6: c.clientIP6[:0], serverIP4: c.serverIP4[:0], serverIP6: c.serverIP6[:0],
		clientPort: c.clientPort[:0], serverPort: c.serverPort[:0],
		packetsTx: c.packetsTx[:0], packetsRx: c.packetsRx[:0], bytesTx: c.bytesTx[:0], bytesRx: c.bytesRx[:0],
		rtt: c.rtt[:0], rttClient: c.rttClient[:0], rttServer: c.rttServer[:0],
		srtSum: c.srtSum[:0], srtCount: c.srtCount[:0], srtMax: c.srtMax[:0],
		artSum: c.artSum[:0], artCount: c.artCount[:0], artMax: c.artMax[:0],
		citSum: c.citSum[:0], citCount: c.citCount[:0], citMax: c.citMax[:0],
		retransTx: c.retransTx[:0], retransRx: c.retransRx[:0], zeroWinTx: c.zeroWinTx[:0], zeroWinRx: c.zeroWinRx[:0],
		oooTx: c.oooTx[:0], oooRx: c.oooRx[:0], lostTx: c.lostTx[:0], lostRx: c.lostRx[:0],
		lostBeforeTx: c.lostBeforeTx[:0], lostBeforeRx: c.lostBeforeRx[:0],
		synCount: c.synCount[:0], synackCount: c.synackCount[:0], finCount: c.finCount[:0],
	}
}

func (c *l4Cols) add(recs []flowtable.FlowRecord) {
	for i := range recs {
		c.addRow(&recs[i])
	}
}

func (c *l4Cols) addRow(r *flowtable.FlowRecord) {
	end := dateTime(r.EndTime)
	c.time = append(c.time, end)
	c.startTime = append(c.startTime, dateTime(r.StartTime))
	c.endTime = append(c.endTime, end)
	c.startUS = append(c.startUS, unixMicro(r.StartTime))
	c.endUS = append(c.endUS, unixMicro(r.EndTime))
	c.flowID = append(c.flowID, r.FlowID)
	c.closeType = append(c.closeType, uint8(r.CloseType))
	c.tapType = append(c.tapType, r.TapType)
	c.tapPort = append(c.tapPort, r.TapPort)
	c.vlan = append(c.vlan, r.VLAN)
	c.outerSrc.appendAddr(r.OuterSrc)
	c.outerDst.appendAddr(r.OuterDst)
	c.proto = append(c.proto, r.Proto)

	cli, srv := r.ClientIP.Unmap(), r.ServerIP.Unmap()
	v4 := cli.Is4() || srv.Is4()
	c.isIPv4 = append(c.isIPv4, b2u8(v4))
	c.clientIP4 = append(c.clientIP4, ip4(cli))
	c.clientIP6 = append(c.clientIP6, ip6(cli))
	c.serverIP4 = append(c.serverIP4, ip4(srv))
	c.serverIP6 = append(c.serverIP6, ip6(srv))
	c.clientPort = append(c.clientPort, r.ClientPort)
	c.serverPort = append(c.serverPort, r.ServerPort)

	c.packetsTx = append(c.packetsTx, r.PacketsTx)
	c.packetsRx = append(c.packetsRx, r.PacketsRx)
	c.bytesTx = append(c.bytesTx, r.BytesTx)
	c.bytesRx = append(c.bytesRx, r.BytesRx)
	c.rtt = append(c.rtt, r.RTT)
	c.rttClient = append(c.rttClient, r.RTTClient)
	c.rttServer = append(c.rttServer, r.RTTServer)
	c.srtSum = append(c.srtSum, r.SRTSum)
	c.srtCount = append(c.srtCount, r.SRTCount)
	c.srtMax = append(c.srtMax, r.SRTMax)
	c.artSum = append(c.artSum, r.ARTSum)
	c.artCount = append(c.artCount, r.ARTCount)
	c.artMax = append(c.artMax, r.ARTMax)
	c.citSum = append(c.citSum, r.CITSum)
	c.citCount = append(c.citCount, r.CITCount)
	c.citMax = append(c.citMax, r.CITMax)
	c.retransTx = append(c.retransTx, r.RetransTx)
	c.retransRx = append(c.retransRx, r.RetransRx)
	c.zeroWinTx = append(c.zeroWinTx, r.ZeroWinTx)
	c.zeroWinRx = append(c.zeroWinRx, r.ZeroWinRx)
	c.oooTx = append(c.oooTx, r.OOOTx)
	c.oooRx = append(c.oooRx, r.OOORx)
	c.lostTx = append(c.lostTx, r.LostTx)
	c.lostRx = append(c.lostRx, r.LostRx)
	c.lostBeforeTx = append(c.lostBeforeTx, r.LostBeforeTapTx)
	c.lostBeforeRx = append(c.lostBeforeRx, r.LostBeforeTapRx)
	c.synCount = append(c.synCount, r.SYNCount)
	c.synackCount = append(c.synackCount, r.SYNACKCount)
	c.finCount = append(c.finCount, r.FINCount)
}

// dateTimeUnix is the DateTime value (seconds, clamped to DateTime's
// UInt32 range) stored for t.
func dateTimeUnix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return min(max(t.Unix(), 0), math.MaxUint32)
}

func dateTime(t time.Time) time.Time { return time.Unix(dateTimeUnix(t), 0).UTC() }

// unixMicro is t in µs since the epoch, 0 for the zero time or before 1970.
func unixMicro(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(max(t.UnixMicro(), 0))
}

// ip4 is a as ClickHouse's IPv4/UInt32 (a.b.c.d = a<<24|b<<16|c<<8|d), 0
// when a is not IPv4.
func ip4(a netip.Addr) uint32 {
	if !a.Is4() {
		return 0
	}
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// ip6 is a's 16 bytes when a is IPv6, zeros otherwise.
func ip6(a netip.Addr) [16]byte {
	if !a.Is6() {
		return [16]byte{}
	}
	return a.As16()
}

func b2u8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

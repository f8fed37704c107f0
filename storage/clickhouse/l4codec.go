package clickhouse

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tapflow/tapflow/flowtable"
)

// l4Cols (columns.go) is the rowCodec of flow_log.l4_flow_log; this file
// holds its spool record and unfinished-batch check.

// Spool records of flow records. Version 2 added LostBeforeTapTx/Rx at
// the end of the record; version 1 segments decode with them 0.
const (
	l4SpoolMagic        = "TFSPOOL1"
	l4SpoolVersion      = 2
	l4SpoolRecordSizeV1 = 8 + 8 + 8 + 1 + 1 + 4 + 2 + 17 + 17 + 1 + 17 + 17 + 2 + 2 +
		4*8 + 3*4 + 3*(8+4+8) + 11*4
	l4SpoolRecordSize = l4SpoolRecordSizeV1 + 2*4
)

func (*l4Cols) magic() string   { return l4SpoolMagic }
func (*l4Cols) version() uint32 { return l4SpoolVersion }

func (*l4Cols) recordSize(v uint32) int {
	switch v {
	case 1:
		return l4SpoolRecordSizeV1
	case 2:
		return l4SpoolRecordSize
	}
	return 0
}

func (*l4Cols) encode(b []byte, r *flowtable.FlowRecord) []byte {
	le := binary.LittleEndian
	b = le.AppendUint64(b, r.FlowID)
	b = le.AppendUint64(b, uint64(encTime(r.StartTime)))
	b = le.AppendUint64(b, uint64(encTime(r.EndTime)))
	b = append(b, uint8(r.CloseType), r.TapType)
	b = le.AppendUint32(b, r.TapPort)
	b = le.AppendUint16(b, r.VLAN)
	b = encAddr(b, r.OuterSrc)
	b = encAddr(b, r.OuterDst)
	b = append(b, r.Proto)
	b = encAddr(b, r.ClientIP)
	b = encAddr(b, r.ServerIP)
	b = le.AppendUint16(b, r.ClientPort)
	b = le.AppendUint16(b, r.ServerPort)
	for _, v := range [...]uint64{r.PacketsTx, r.PacketsRx, r.BytesTx, r.BytesRx} {
		b = le.AppendUint64(b, v)
	}
	for _, v := range [...]uint32{r.RTT, r.RTTClient, r.RTTServer} {
		b = le.AppendUint32(b, v)
	}
	for _, m := range [...][3]uint64{
		{r.SRTSum, uint64(r.SRTCount), r.SRTMax},
		{r.ARTSum, uint64(r.ARTCount), r.ARTMax},
		{r.CITSum, uint64(r.CITCount), r.CITMax},
	} {
		b = le.AppendUint64(b, m[0])
		b = le.AppendUint32(b, uint32(m[1]))
		b = le.AppendUint64(b, m[2])
	}
	for _, v := range [...]uint32{r.RetransTx, r.RetransRx, r.ZeroWinTx, r.ZeroWinRx,
		r.OOOTx, r.OOORx, r.LostTx, r.LostRx, r.SYNCount, r.SYNACKCount, r.FINCount,
		r.LostBeforeTapTx, r.LostBeforeTapRx} {
		b = le.AppendUint32(b, v)
	}
	return b
}

func (*l4Cols) decode(b []byte, v uint32, r *flowtable.FlowRecord) error {
	d := dec{b}
	r.FlowID = d.u64()
	r.StartTime = d.time()
	r.EndTime = d.time()
	r.CloseType = flowtable.CloseType(d.u8())
	r.TapType = d.u8()
	r.TapPort = d.u32()
	r.VLAN = d.u16()
	r.OuterSrc = d.addr()
	r.OuterDst = d.addr()
	r.Proto = d.u8()
	r.ClientIP = d.addr()
	r.ServerIP = d.addr()
	r.ClientPort = d.u16()
	r.ServerPort = d.u16()
	r.PacketsTx, r.PacketsRx, r.BytesTx, r.BytesRx = d.u64(), d.u64(), d.u64(), d.u64()
	r.RTT, r.RTTClient, r.RTTServer = d.u32(), d.u32(), d.u32()
	r.SRTSum, r.SRTCount, r.SRTMax = d.u64(), d.u32(), d.u64()
	r.ARTSum, r.ARTCount, r.ARTMax = d.u64(), d.u32(), d.u64()
	r.CITSum, r.CITCount, r.CITMax = d.u64(), d.u32(), d.u64()
	r.RetransTx, r.RetransRx = d.u32(), d.u32()
	r.ZeroWinTx, r.ZeroWinRx = d.u32(), d.u32()
	r.OOOTx, r.OOORx = d.u32(), d.u32()
	r.LostTx, r.LostRx = d.u32(), d.u32()
	r.SYNCount, r.SYNACKCount, r.FINCount = d.u32(), d.u32(), d.u32()
	if v >= 2 {
		r.LostBeforeTapTx, r.LostBeforeTapRx = d.u32(), d.u32()
	}
	return nil
}

// l4Key identifies a flow record in the table for the unfinished-batch
// check.
type l4Key struct{ flowID, startUS, endUS uint64 }

// unwritten returns the records of recs not found in the table. The rows of
// one batch are looked up by their time and flow_id range, and matched as a
// multiset on (flow_id, start_time_us, end_time_us).
func (*l4Cols) unwritten(ctx context.Context, conn driver.Conn, table string, recs []flowtable.FlowRecord) ([]flowtable.FlowRecord, error) {
	minT, maxT := int64(1<<62), int64(-1)
	minID, maxID := ^uint64(0), uint64(0)
	for i := range recs {
		t := dateTimeUnix(recs[i].EndTime)
		minT, maxT = min(minT, t), max(maxT, t)
		minID, maxID = min(minID, recs[i].FlowID), max(maxID, recs[i].FlowID)
	}
	q := fmt.Sprintf("SELECT flow_id, start_time_us, end_time_us FROM %s "+
		"WHERE time >= toDateTime(%d) AND time <= toDateTime(%d) AND flow_id >= %d AND flow_id <= %d",
		table, minT, maxT, minID, maxID)
	rows, err := conn.Query(ctx, q)
	if err != nil {
		return nil, asServerError(err)
	}
	defer rows.Close()
	have := map[l4Key]int{}
	for rows.Next() {
		var k l4Key
		if err := rows.Scan(&k.flowID, &k.startUS, &k.endUS); err != nil {
			return nil, err
		}
		have[k]++
	}
	if err := rows.Err(); err != nil {
		return nil, asServerError(err)
	}
	out := recs[:0]
	for _, r := range recs {
		k := l4Key{r.FlowID, unixMicro(r.StartTime), unixMicro(r.EndTime)}
		if have[k] > 0 {
			have[k]--
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

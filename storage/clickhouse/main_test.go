package clickhouse

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/tapflow/tapflow/flowtable"
	"github.com/tapflow/tapflow/internal/testserver"
)

func TestMain(m *testing.M) {
	testserver.Main(m, func() error { return goleak.Find() })
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// openTest opens the package's shared ClickHouse with a database prefix of
// the test's own and creates the schema.
func openTest(t testing.TB, cfg Config) *DB {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = testserver.Shared(t)
	}
	if cfg.DatabasePrefix == "" {
		cfg.DatabasePrefix = testserver.UniqueName(t) + "_"
	}
	db, err := Open(testCtx(t), cfg, nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	require.NoError(t, db.EnsureSchema(testCtx(t)))
	return db
}

// queryUint runs a query returning one unsigned integer.
func queryUint(t testing.TB, db *DB, q string) uint64 {
	t.Helper()
	var n uint64
	require.NoError(t, db.conn.QueryRow(testCtx(t), q).Scan(&n), q)
	return n
}

var testBase = time.Now().UTC().Truncate(time.Hour).Add(10 * time.Minute)

// testRecords returns n records with flow ids from firstID, cycling through
// IPv4, IPv6 and IPv4-mapped IPv6 addresses. All end within one hour.
func testRecords(n int, firstID uint64) []flowtable.FlowRecord {
	recs := make([]flowtable.FlowRecord, n)
	for i := range recs {
		id := firstID + uint64(i)
		r := &recs[i]
		r.FlowID = id
		r.StartTime = testBase.Add(time.Duration(id%1000) * time.Millisecond)
		r.EndTime = r.StartTime.Add(1500*time.Millisecond + time.Duration(id%7)*time.Microsecond)
		r.CloseType = flowtable.CloseTCPFin
		r.TapType, r.TapPort, r.VLAN = 3, uint32(id%5), 100
		r.Proto = 6
		switch id % 3 {
		case 0:
			r.ClientIP = netip.AddrFrom4([4]byte{10, byte(id >> 16), byte(id >> 8), byte(id)})
			r.ServerIP = netip.MustParseAddr("192.0.2.80")
		case 1:
			r.ClientIP = netip.MustParseAddr("2001:db8::1")
			r.ServerIP = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(id >> 8), 15: byte(id)})
			r.OuterSrc, r.OuterDst = netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("198.51.100.2")
		case 2:
			r.ClientIP = netip.MustParseAddr("::ffff:172.16.0.9")
			r.ServerIP = netip.MustParseAddr("::ffff:172.16.0.10")
		}
		r.ClientPort, r.ServerPort = uint16(40000+id%20000), 443
		r.PacketsTx, r.PacketsRx, r.BytesTx, r.BytesRx = 10, 8, 1500, 9000+id
		r.RTT, r.RTTClient, r.RTTServer = 1200, 200, 1000
		r.SRTSum, r.SRTCount, r.SRTMax = 3000, 3, 1500
		r.ARTSum, r.ARTCount, r.ARTMax = 400, 2, 300
		r.CITSum, r.CITCount, r.CITMax = 50, 1, 50
		r.RetransTx, r.RetransRx, r.ZeroWinTx, r.ZeroWinRx = 1, 2, 3, 4
		r.OOOTx, r.OOORx, r.LostTx, r.LostRx = 5, 6, 7, 8
		r.LostBeforeTapTx, r.LostBeforeTapRx = 3, 4
		r.SYNCount, r.SYNACKCount, r.FINCount = 1, 1, 2
	}
	return recs
}

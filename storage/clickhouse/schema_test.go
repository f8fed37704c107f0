package clickhouse

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// l4Contract is the column contract of flow_log.l4_flow_log with the console
// and CLI, spelled out here on purpose rather than derived from l4Columns.
var l4Contract = []string{
	"time", "start_time", "end_time", "start_time_us", "end_time_us", "flow_id", "close_type",
	"tap_type", "tap_port", "vlan", "outer_src", "outer_dst", "proto", "is_ipv4",
	"client_ip4", "client_ip6", "server_ip4", "server_ip6", "client_port", "server_port",
	"packets_tx", "packets_rx", "bytes_tx", "bytes_rx", "rtt_us", "rtt_client_us", "rtt_server_us",
	"srt_sum_us", "srt_count", "srt_max_us", "art_sum_us", "art_count", "art_max_us",
	"cit_sum_us", "cit_count", "cit_max_us", "retrans_tx", "retrans_rx", "zero_win_tx", "zero_win_rx",
	"ooo_tx", "ooo_rx", "lost_tx", "lost_rx", "lost_before_tap_tx", "lost_before_tap_rx",
	"syn_count", "synack_count", "fin_count",
}

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in      string
		want    Version
		wantErr bool
		ttl     bool
	}{
		{in: "18.16.1", want: Version{18, 16, 1, "18.16.1"}},
		{in: "19.6.2.11", want: Version{19, 6, 2, "19.6.2.11"}, ttl: true},
		{in: "24.8.4.13", want: Version{24, 8, 4, "24.8.4.13"}, ttl: true},
		{in: "25.1", want: Version{25, 1, 0, "25.1"}, ttl: true},
		{in: "garbage", wantErr: true},
		{in: "x.1.1", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			v, err := ParseVersion(tc.in)
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, v)
			require.Equal(t, tc.ttl, featuresOf(v).ttl)
		})
	}
}

func TestDDLByVersion(t *testing.T) {
	tests := []struct {
		version string
		want    []string
		notWant []string
	}{
		{
			version: "18.16.1",
			want:    []string{"client_ip4 UInt32,", "client_ip6 FixedString(16),", "outer_src String,", "PARTITION BY toStartOfHour(time)", "ORDER BY (time,"},
			notWant: []string{"TTL", "CODEC", "IPv4", "IPv6", "LowCardinality"},
		},
		{
			version: "24.8.4.13",
			want: []string{"client_ip4 IPv4 CODEC(ZSTD(1))", "server_ip6 IPv6 CODEC(ZSTD(1))", "time DateTime CODEC(DoubleDelta, LZ4)",
				"TTL time + INTERVAL 259200 SECOND", "outer_src LowCardinality(String)"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.version, func(t *testing.T) {
			v, err := ParseVersion(tc.version)
			require.NoError(t, err)
			ddl := createLocalTable("flow_log", L4FlowLog, l4Columns, l4OrderBy, featuresOf(v), 72*time.Hour)
			for _, s := range tc.want {
				require.Contains(t, ddl, s)
			}
			for _, s := range tc.notWant {
				require.NotContains(t, ddl, s)
			}
		})
	}
	require.Len(t, new(l4Cols).values(), len(l4Columns), "one column slice per column")
}

func TestL7DDLByVersion(t *testing.T) {
	tests := []struct {
		version string
		want    []string
		notWant []string
	}{
		{
			version: "18.16.1",
			want: []string{"CREATE TABLE IF NOT EXISTS `flow_log`.`l7_flow_log_local` (", "time DateTime,", "start_time DateTime,",
				"end_time DateTime,", "start_time_us UInt64,", "client_ip4 UInt32,", "server_ip6 FixedString(16),",
				"l7_protocol UInt8,", "l7_protocol_str String,", "version String,", "type UInt8,", "request_type String,",
				"request_resource String,", "request_id Nullable(UInt64),", "response_code Nullable(Int32),",
				"response_duration UInt64,", "span_id String\n",
				"PARTITION BY toStartOfHour(time)\n", "ORDER BY (time, l7_protocol, server_ip4, server_ip6, server_port, flow_id)\n"},
			notWant: []string{"TTL", "CODEC", "IPv4", "IPv6", "LowCardinality", "DateTime64"},
		},
		{
			version: "24.8.4.13",
			want: []string{"start_time DateTime64(6) CODEC(DoubleDelta, LZ4),", "end_time DateTime64(6) CODEC(DoubleDelta, LZ4),",
				"time DateTime CODEC(DoubleDelta, LZ4),", "client_ip4 IPv4 CODEC(ZSTD(1)),", "server_ip6 IPv6 CODEC(ZSTD(1)),",
				"l7_protocol_str LowCardinality(String) CODEC(ZSTD(1)),", "request_type LowCardinality(String) CODEC(ZSTD(1)),",
				"request_resource String CODEC(ZSTD(1)),", "request_id Nullable(UInt64) CODEC(ZSTD(1)),",
				"response_code Nullable(Int32) CODEC(ZSTD(1)),", "TTL time + INTERVAL 259200 SECOND"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.version, func(t *testing.T) {
			v, err := ParseVersion(tc.version)
			require.NoError(t, err)
			ddl := createLocalTable("flow_log", L7FlowLog, l7Columns, l7OrderBy, featuresOf(v), 72*time.Hour)
			t.Logf("%s:\n%s", tc.version, ddl)
			for _, s := range tc.want {
				require.Contains(t, ddl, s)
			}
			for _, s := range tc.notWant {
				require.NotContains(t, ddl, s)
			}
		})
	}
	names := make([]string, len(l7Columns))
	for i, c := range l7Columns {
		names[i] = c.name
	}
	require.Equal(t, l7Contract, names)
	require.Len(t, new(l7Cols).values(), len(l7Columns), "one column slice per column")
}

func TestEnsureSchema(t *testing.T) {
	tests := []struct {
		name       string
		cluster    string
		wantEngine string
	}{
		{name: "distributed over the tapflow cluster", cluster: "tapflow", wantEngine: "Distributed"},
		{name: "merge when the cluster is missing", cluster: "no_such_cluster", wantEngine: "Merge"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := openTest(t, Config{Cluster: tc.cluster})
			require.NoError(t, db.EnsureSchema(testCtx(t)), "EnsureSchema is idempotent")

			for _, name := range []string{FlowLogDB, FlowMetricsDB} {
				require.Equal(t, uint64(1), queryUint(t, db, "SELECT count() FROM system.databases WHERE name = "+quoteString(db.Database(name))))
			}
			res, err := db.Query(testCtx(t), db.Database(FlowLogDB), "SELECT name, engine FROM system.tables WHERE database = currentDatabase() ORDER BY name", QueryOptions{})
			require.NoError(t, err)
			require.Equal(t, [][]any{{"l4_flow_log", tc.wantEngine}, {"l4_flow_log_local", "MergeTree"},
				{"l7_flow_log", tc.wantEngine}, {"l7_flow_log_local", "MergeTree"}}, res.Rows)

			res, err = db.Query(testCtx(t), db.Database(FlowLogDB), "DESCRIBE TABLE l4_flow_log", QueryOptions{})
			require.NoError(t, err)
			var names []string
			types := map[string]string{}
			for _, row := range res.Rows {
				names = append(names, row[0].(string))
				types[row[0].(string)] = row[1].(string)
			}
			require.Equal(t, l4Contract, names)
			if f := featuresOf(db.Version()); !f.ipTypes {
				require.Equal(t, "UInt32", types["client_ip4"])
				require.Equal(t, "FixedString(16)", types["server_ip6"])
			} else {
				require.Equal(t, "IPv4", types["client_ip4"])
				require.Equal(t, "IPv6", types["server_ip6"])
			}
			require.Equal(t, "DateTime", types["time"])
			require.Equal(t, "UInt64", types["end_time_us"])

			// l7_flow_log: the same column set on every server; the types
			// of times, addresses and names depend on the version.
			res, err = db.Query(testCtx(t), db.Database(FlowLogDB), "DESCRIBE TABLE l7_flow_log", QueryOptions{})
			require.NoError(t, err)
			names = nil
			types = map[string]string{}
			for _, row := range res.Rows {
				names = append(names, row[0].(string))
				types[row[0].(string)] = row[1].(string)
			}
			require.Equal(t, l7Contract, names)
			f := featuresOf(db.Version())
			want := map[string]string{"time": "DateTime", "start_time": "DateTime", "start_time_us": "UInt64",
				"client_ip4": "UInt32", "server_ip6": "FixedString(16)", "l7_protocol": "UInt8", "l7_protocol_str": "String",
				"type": "UInt8", "request_resource": "String", "request_id": "Nullable(UInt64)", "response_status": "UInt8",
				"response_code": "Nullable(Int32)", "response_duration": "UInt64", "request_length": "UInt32"}
			if f.ipTypes {
				want["client_ip4"], want["server_ip6"] = "IPv4", "IPv6"
			}
			if f.lowCard {
				want["l7_protocol_str"] = "LowCardinality(String)"
			}
			if f.dateTime64 {
				want["start_time"] = "DateTime64(6)"
			}
			for col, typ := range want {
				require.Equal(t, typ, types[col], col)
			}

			for _, table := range []string{"l4_flow_log_local", "l7_flow_log_local"} {
				var engineFull string
				require.NoError(t, db.conn.QueryRow(testCtx(t), "SELECT engine_full FROM system.tables WHERE database = "+
					quoteString(db.Database(FlowLogDB))+" AND name = "+quoteString(table)).Scan(&engineFull))
				require.Contains(t, engineFull, "PARTITION BY toStartOfHour(time)")
				require.True(t, strings.Contains(engineFull, "ORDER BY (time,"), engineFull)
				t.Logf("clickhouse %s: %s: %s", db.Version(), table, engineFull)
			}
		})
	}
}

func TestDropOldPartitions(t *testing.T) {
	db := openTest(t, Config{})
	w, err := NewWriter(db, WriterConfig{}, nil, nil)
	require.NoError(t, err)
	old := testRecords(30, 1)
	for i := range old { // three hours, two days ago
		old[i].EndTime = time.Now().Add(-48*time.Hour - time.Duration(i%3)*time.Hour)
		old[i].StartTime = old[i].EndTime.Add(-time.Second)
	}
	w.Write(old)
	w.Write(testRecords(10, 100))
	require.NoError(t, w.Close(testCtx(t)))
	table := db.Database(FlowLogDB) + ".l4_flow_log"
	require.Equal(t, uint64(40), queryUint(t, db, "SELECT count() FROM "+table))

	dropped, err := db.DropOldPartitions(testCtx(t), time.Now().Add(-24*time.Hour))
	require.NoError(t, err)
	require.Len(t, dropped, 3)
	var rows uint64
	for _, p := range dropped {
		require.Equal(t, "l4_flow_log_local", p.Table)
		rows += p.Rows
	}
	require.Equal(t, uint64(30), rows)
	require.Equal(t, uint64(10), queryUint(t, db, "SELECT count() FROM "+table))

	dropped, err = db.DropOldPartitions(testCtx(t), time.Now().Add(-24*time.Hour))
	require.NoError(t, err)
	require.Empty(t, dropped)
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:9000": true, "127.1.2.3:9000": true, "[::1]:9000": true, "localhost:9000": true,
		"192.0.2.10:9000": false, "[2001:db8::1]:9000": false, "ch.example.net:9000": false, "127.0.0.1": false,
	} {
		if got := isLoopback(addr); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/tapflow/tapflow/internal/testserver"
	"github.com/tapflow/tapflow/storage/chserver"
)

// This file runs the console's SQL on a real ClickHouse 18.16, the oldest
// server tapflow supports.

// l4FlowLogDDL is the part of the l4_flow_log contract the console reads,
// with 18.16's types (UInt32 for IPv4, FixedString(16) for IPv6). The
// storage package owns the real table.
const l4FlowLogDDL = `CREATE TABLE flow_log.l4_flow_log (
  time DateTime, start_time DateTime, end_time DateTime,
  start_time_us UInt64, end_time_us UInt64, flow_id UInt64, close_type UInt8,
  tap_type UInt8, tap_port UInt32, vlan UInt16, proto UInt8, is_ipv4 UInt8,
  client_ip4 UInt32, client_ip6 FixedString(16), server_ip4 UInt32, server_ip6 FixedString(16),
  client_port UInt16, server_port UInt16,
  packets_tx UInt64, packets_rx UInt64, bytes_tx UInt64, bytes_rx UInt64,
  rtt_us UInt32, rtt_client_us UInt32, rtt_server_us UInt32
) ENGINE = MergeTree() PARTITION BY toStartOfHour(time) ORDER BY (time, flow_id)`

// l7FlowLogDDL is the part of the l7_flow_log contract the console reads.
const l7FlowLogDDL = `CREATE TABLE flow_log.l7_flow_log (
  time DateTime, flow_id UInt64, type UInt8, l7_protocol_str String, request_type String, endpoint String,
  response_status UInt8, response_duration UInt64
) ENGINE = MergeTree() PARTITION BY toStartOfHour(time) ORDER BY (time, flow_id)`

// startClickHouse starts a private ClickHouse (internal/testserver: skips
// loudly without the binary, fails in CI) and returns the URL of its HTTP
// interface, which the test talks to as app.js's SQL would be run.
func startClickHouse(t *testing.T) string {
	t.Helper()
	return "http://" + testserver.ClickHouseServer(t, chserver.Options{}).HTTPAddr() + "/"
}

// chQuery runs one statement over ClickHouse's HTTP interface. A SELECT
// returns its rows keyed by column name, as app.js sees them.
func chQuery(url, sql string) ([]map[string]any, error) {
	isSelect := strings.HasPrefix(strings.ToUpper(strings.TrimSpace(sql)), "SELECT")
	if isSelect {
		sql += "\nFORMAT JSONCompact"
	}
	resp, err := http.Post(url, "text/plain", strings.NewReader(sql))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, errors.New(strings.TrimSpace(string(body)))
	}
	if !isSelect {
		return nil, nil
	}
	var out struct {
		Meta []struct{ Name string }
		Data [][]any
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("decode %q: %w", body, err)
	}
	rows := make([]map[string]any, len(out.Data))
	for i, vals := range out.Data {
		rows[i] = map[string]any{}
		for j, m := range out.Meta {
			rows[i][m.Name] = vals[j]
		}
	}
	return rows, nil
}

type flowRow struct {
	time, start        int64
	flowID             uint64
	closeType, proto   uint8
	client, server     string
	cport, sport, vlan uint16
	ptx, prx, btx, brx uint64
	rtt                uint32
}

func (r flowRow) values() string {
	ip := func(a string) (isV4 int, v4, v6 string) {
		if strings.Contains(a, ":") {
			return 0, "0", fmt.Sprintf("IPv6StringToNum('%s')", a)
		}
		return 1, fmt.Sprintf("IPv4StringToNum('%s')", a), "toFixedString('', 16)"
	}
	isV4, c4, c6 := ip(r.client)
	_, s4, s6 := ip(r.server)
	return fmt.Sprintf("(toDateTime(%d), toDateTime(%d), toDateTime(%d), %d, %d, %d, %d, %d, %d, %d, %s, %s, %s, %s, %d, %d, %d, %d, %d, %d, %d)",
		r.time, r.start, r.time, r.start*1e6, r.time*1e6, r.flowID, r.closeType, r.vlan, r.proto, isV4,
		c4, c6, s4, s6, r.cport, r.sport, r.ptx, r.prx, r.btx, r.brx, r.rtt)
}

func insertFlows(t *testing.T, url string, rows ...flowRow) {
	t.Helper()
	vals := make([]string, len(rows))
	for i, r := range rows {
		vals[i] = r.values()
	}
	sql := "INSERT INTO flow_log.l4_flow_log (time, start_time, end_time, start_time_us, end_time_us, flow_id, close_type, vlan, proto, is_ipv4, " +
		"client_ip4, client_ip6, server_ip4, server_ip6, client_port, server_port, packets_tx, packets_rx, bytes_tx, bytes_rx, rtt_us) VALUES " +
		strings.Join(vals, ", ")
	if _, err := chQuery(url, sql); err != nil {
		t.Fatalf("insert: %v", err)
	}
}

// checkRows compares rows with want, formatting every value with %v so
// that UInt64 (a JSON string) and smaller integers (JSON numbers) compare
// alike.
func checkRows(t *testing.T, name string, got []map[string]any, want []map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d rows, want %d: %v", name, len(got), len(want), got)
		return
	}
	for i := range want {
		for col, w := range want[i] {
			v, ok := got[i][col]
			if !ok {
				t.Errorf("%s row %d: no column %q in %v", name, i, col, got[i])
			} else if g := fmt.Sprint(v); g != w {
				t.Errorf("%s row %d: %s = %s, want %s", name, i, col, g, w)
			}
		}
	}
}

// jsWindow is windowFor() in app.js: bucket-aligned [start, end) that
// contains endS.
func jsWindow(endS int64, minutes int64) (start, end int64) {
	end = (endS/10 + 1) * 10
	return end - minutes*60, end
}

func TestQueriesOnClickHouse(t *testing.T) {
	queries := parseQueries(t)
	url := startClickHouse(t)
	run := func(name string, start, end int64) []map[string]any {
		t.Helper()
		rows, err := chQuery(url, bind(queries[name], start, end))
		if err != nil {
			t.Fatalf("query %s: %v", name, err)
		}
		return rows
	}

	version, err := chQuery(url, "SELECT version() AS v")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ClickHouse %v", version[0]["v"])
	for _, sql := range []string{"CREATE DATABASE flow_log", l4FlowLogDDL, l7FlowLogDDL} {
		if _, err := chQuery(url, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}

	// An empty table: the page shows "no flow data yet" on newest_s = 0,
	// and the other queries still run.
	checkRows(t, "window (empty)", run("window", 0, 0), []map[string]string{{"newest_s": "0", "replay": "1", "end_s": "0"}})
	checkRows(t, "throughput (empty)", run("throughput", 1000, 1900), nil)
	checkRows(t, "totals (empty)", run("totals", 1000, 1900), []map[string]string{{"flows": "0", "packets": "0", "bytes": "0"}})
	checkRows(t, "topFlows (empty)", run("topFlows", 1000, 1900), nil)
	checkRows(t, "topL7 (empty)", run("topL7", 1000, 1900), nil)

	// A replayed capture from 2019: the window ends at the newest flow.
	const base = 1554900000 // 2019-04-10 12:40:00 UTC
	insertFlows(t, url,
		// Flow 1, reported once a minute, then closed by FIN: its two
		// reports are summed into one top-flows row.
		flowRow{time: base - 65, start: base - 200, flowID: 1, closeType: 5, proto: 6, client: "10.1.2.3", server: "10.9.9.9",
			cport: 51514, sport: 443, vlan: 10, ptx: 10, prx: 12, btx: 1000, brx: 20000, rtt: 1500},
		flowRow{time: base - 5, start: base - 200, flowID: 1, closeType: 1, proto: 6, client: "10.1.2.3", server: "10.9.9.9",
			cport: 51514, sport: 443, vlan: 10, ptx: 4, prx: 6, btx: 400, brx: 6000},
		flowRow{time: base, start: base - 2, flowID: 2, closeType: 3, proto: 17, client: "2001:db8::1", server: "2001:db8::53",
			cport: 5353, sport: 53, ptx: 2, prx: 2, btx: 300, brx: 700},
		// Flow 3 ended half an hour earlier: outside the 15-minute window,
		// and the biggest, so a wrong window shows it on top.
		flowRow{time: base - 1800, start: base - 1900, flowID: 3, closeType: 3, proto: 1, client: "10.0.0.1", server: "10.0.0.2",
			ptx: 1e6, prx: 1e6, btx: 1e9, brx: 1e9},
	)
	w := run("window", 0, 0)
	checkRows(t, "window (replay)", w, []map[string]string{{"newest_s": strconv.Itoa(base), "replay": "1", "end_s": strconv.Itoa(base)}})
	start, end := jsWindow(base, 15)

	checkRows(t, "throughput", run("throughput", start, end), []map[string]string{
		{"bucket": strconv.Itoa(base - 70), "bytes": "21000", "packets": "22"},
		{"bucket": strconv.Itoa(base - 10), "bytes": "6400", "packets": "10"},
		{"bucket": strconv.Itoa(base), "bytes": "1000", "packets": "4"},
	})
	checkRows(t, "totals", run("totals", start, end), []map[string]string{{"flows": "2", "packets": "36", "bytes": "28400"}})
	checkRows(t, "topFlows", run("topFlows", start, end), []map[string]string{
		{
			"ip_proto": "6", "client": "10.1.2.3", "cport": "51514", "server": "10.9.9.9", "sport": "443", "vlan_id": "10",
			"pkts_tx": "14", "pkts_rx": "18", "octets_tx": "1400", "octets_rx": "26000", "rtt": "1500",
			"last_close": "1", "start_s": strconv.Itoa(base - 200), "end_s": strconv.Itoa(base - 5),
		},
		{
			"ip_proto": "17", "client": "2001:db8::1", "cport": "5353", "server": "2001:db8::53", "sport": "53", "vlan_id": "0",
			"pkts_tx": "2", "pkts_rx": "2", "octets_tx": "300", "octets_rx": "700", "rtt": "0",
			"last_close": "3", "start_s": strconv.Itoa(base - 2), "end_s": strconv.Itoa(base),
		},
	})
	// L7: two paired GETs (one a 5xx), a timed-out one, a DNS NXDOMAIN,
	// and an hour-old request outside the window.
	l7 := "INSERT INTO flow_log.l7_flow_log (time, flow_id, type, l7_protocol_str, request_type, endpoint, response_status, response_duration) VALUES " +
		fmt.Sprintf("(%d, 1, 2, 'HTTP', 'GET', '/api/v1', 0, 1000), (%d, 1, 2, 'HTTP', 'GET', '/api/v1', 3, 3000), ", base-60, base-50) +
		fmt.Sprintf("(%d, 1, 0, 'HTTP', 'GET', '/api/v1', 2, 0), (%d, 2, 2, 'DNS', 'A', 'example.com', 4, 700), ", base-40, base) +
		fmt.Sprintf("(%d, 3, 2, 'HTTP', 'POST', '/old', 0, 9)", base-3600)
	if _, err := chQuery(url, l7); err != nil {
		t.Fatal(err)
	}
	checkRows(t, "topL7", run("topL7", start, end), []map[string]string{
		{"l7": "HTTP", "rtype": "GET", "ep": "/api/v1", "requests": "3", "server_errors": "1", "client_errors": "0", "timeouts": "1",
			"rrt_avg": "2000", "rrt_max": "3000"},
		{"l7": "DNS", "rtype": "A", "ep": "example.com", "requests": "1", "server_errors": "0", "client_errors": "1", "timeouts": "0",
			"rrt_avg": "700", "rrt_max": "700"},
	})

	// The 60-minute window of the same data reaches flow 3.
	start, end = jsWindow(base, 60)
	checkRows(t, "totals (60 min)", run("totals", start, end), []map[string]string{{"flows": "3"}})

	// Live data: a flow that ended now moves the window end to now.
	var now int64
	if rows, err := chQuery(url, "SELECT toUInt32(now()) AS now_s"); err != nil {
		t.Fatal(err)
	} else {
		now, _ = rows[0]["now_s"].(json.Number).Int64()
	}
	insertFlows(t, url, flowRow{time: now, start: now - 1, flowID: 4, closeType: 1, proto: 6,
		client: "192.0.2.1", server: "192.0.2.2", cport: 40000, sport: 80, ptx: 5, prx: 5, btx: 500, brx: 5000})
	w = run("window", 0, 0)
	if len(w) != 1 || fmt.Sprint(w[0]["replay"]) != "0" || fmt.Sprint(w[0]["end_s"]) != fmt.Sprint(w[0]["now_s"]) {
		t.Errorf("window (live): %v, want replay 0 and end_s = now_s", w)
	}
}

package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// This file loads the page in headless Chromium against a stub of the query
// API. The stub answers only the statements in QUERIES, with {start} and
// {end} bound to integers, so it also checks what the page sends. The real
// API and ClickHouse are covered by the query package's tests and by
// clickhouse_test.go.

const chromium = "/usr/bin/chromium"

// replayNewest is the newest flow of the canned replay: 2019-04-10 12:40:00 UTC.
const replayNewest = 1554900000

// apiStub answers POST /v1/query with canned results per named query.
type apiStub struct {
	t        *testing.T
	matchers map[string]*regexp.Regexp
	answer   func(name string) (status int, body string)

	mu   sync.Mutex
	seen []stubCall
}

type stubCall struct {
	name       string
	start, end int64
}

func newAPIStub(t *testing.T, answer func(name string) (int, string)) *apiStub {
	s := &apiStub{t: t, matchers: map[string]*regexp.Regexp{}, answer: answer}
	for name, sql := range parseQueries(t) {
		re := regexp.QuoteMeta(sql)
		re = strings.NewReplacer(`\{start\}`, `(?P<start>-?\d+)`, `\{end\}`, `(?P<end>-?\d+)`).Replace(re)
		s.matchers[name] = regexp.MustCompile(`^` + re + `$`)
	}
	return s
}

func (s *apiStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct{ DB, SQL string }
	if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&req) != nil || req.DB != "flow_log" {
		s.t.Errorf("stub: bad request %s %s db=%q", r.Method, r.URL, req.DB)
		http.Error(w, `{"error":"bad request"}`, http.StatusBadRequest)
		return
	}
	for name, re := range s.matchers {
		m := re.FindStringSubmatch(req.SQL)
		if m == nil {
			continue
		}
		call := stubCall{name: name}
		if i := re.SubexpIndex("start"); i > 0 {
			call.start, _ = strconv.ParseInt(m[i], 10, 64)
		}
		if i := re.SubexpIndex("end"); i > 0 {
			call.end, _ = strconv.ParseInt(m[i], 10, 64)
		}
		s.mu.Lock()
		s.seen = append(s.seen, call)
		s.mu.Unlock()
		status, body := s.answer(name)
		if strings.HasPrefix(body, "{") {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		fmt.Fprint(w, body)
		return
	}
	s.t.Errorf("stub: SQL matches no query in QUERIES:\n%s", req.SQL)
	http.Error(w, `{"error":"unknown query"}`, http.StatusBadRequest)
}

func (s *apiStub) calls() []stubCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]stubCall(nil), s.seen...)
}

// Canned answers in the API's shape. UInt64 columns come as JSON strings,
// as ClickHouse quotes them, to check the page takes both.
var canned = map[string]string{
	"throughput": fmt.Sprintf(`{"columns":["bucket","bytes","packets"],"values":[[%d,"21000","22"],[%d,"6400","10"],[%d,"1000","4"]]}`,
		replayNewest-70, replayNewest-10, replayNewest),
	"totals": `{"columns":["flows","packets","bytes"],"values":[["1234","56789","123456789"]]}`,
	"topFlows": fmt.Sprintf(`{"columns":["ip_proto","client","cport","server","sport","vlan_id","pkts_tx","pkts_rx","octets_tx","octets_rx","rtt","last_close","start_s","end_s"],"values":[
		[6,"10.1.2.3",51514,"10.9.9.9",443,10,"14","18","1400","26000",1500,1,%[1]d,%[2]d],
		[17,"2001:db8::1",5353,"2001:db8::53",53,0,"2","2","300","700",0,3,%[2]d,%[3]d],
		[1,"10.0.0.1",0,"10.0.0.2",0,0,"1","1","84","84",0,3,%[2]d,%[3]d]]}`,
		replayNewest-200, replayNewest-5, replayNewest),
	"topL7": `{"columns":["l7","rtype","ep","requests","server_errors","client_errors","timeouts","rrt_avg","rrt_max"],"values":[
		["HTTP","GET","/api/v1","120","3","0","0","2500","48000"],
		["DNS","A","example.com","40","0","2","1","800","1200"]]}`,
}

// dumpDOM loads url in headless Chromium and returns the DOM after the
// page's scripts ran (virtual time lets the fetches finish without waiting
// in real time).
func dumpDOM(t *testing.T, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	profile, err := os.MkdirTemp("", "tapflow-web-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	// Chromium's helper processes may still write to the profile for a
	// moment after it exits, so removal is best effort.
	defer os.RemoveAll(profile)

	cmd := exec.CommandContext(ctx, chromium,
		"--headless", "--dump-dom", "--virtual-time-budget=5000",
		"--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+profile, url)
	cmd.WaitDelay = 10 * time.Second
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	return string(out)
}

// element returns the outer HTML of the first element with the given id,
// up to its closing tag; ids here are on elements without nested same tags.
func element(t *testing.T, dom, tag, id string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<` + tag + `[^>]*\bid="` + regexp.QuoteMeta(id) + `"[^>]*>.*?</` + tag + `>`).FindString(dom)
	if m == "" {
		t.Fatalf("no <%s id=%q> in the DOM", tag, id)
	}
	return m
}

func requireChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("SKIPPED: %s not found (apt-get install -y chromium); the page was not tested in a browser", chromium)
	}
}

func serveConsole(t *testing.T, stub *apiStub) *httptest.Server {
	mux := http.NewServeMux()
	mux.Handle("/", Handler())
	mux.Handle("/v1/query", stub)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestBrowserReplay(t *testing.T) {
	requireChromium(t)
	stub := newAPIStub(t, func(name string) (int, string) {
		if name == "window" {
			return http.StatusOK, fmt.Sprintf(`{"columns":["now_s","newest_s","replay","end_s"],"values":[[1795600000,%d,1,%d]]}`,
				replayNewest, replayNewest)
		}
		return http.StatusOK, canned[name]
	})
	srv := serveConsole(t, stub)
	dom := dumpDOM(t, srv.URL+"/")

	if mode := element(t, dom, "span", "data-mode"); !strings.Contains(mode, "replay data from 2019-04-10 12:40:00 UTC") {
		t.Errorf("mode indicator: %s", mode)
	}
	if banner := element(t, dom, "div", "error-banner"); !regexp.MustCompile(`<div[^>]*\shidden`).MatchString(banner) {
		t.Errorf("error banner shown: %s", banner)
	}
	for id, want := range map[string]string{"total-flows": "1,234", "total-packets": "56,789", "total-bytes": "123 MB"} {
		if got := element(t, dom, "dd", id); !strings.Contains(got, ">"+want+"<") {
			t.Errorf("%s: %s, want %s", id, got, want)
		}
	}
	if got := element(t, dom, "span", "last-updated"); !strings.Contains(got, ">updated ") {
		t.Errorf("last-updated: %s", got)
	}

	body := element(t, dom, "tbody", "top-flows-body")
	if n := strings.Count(body, "<tr"); n != 3 {
		t.Errorf("top flows: %d rows, want 3:\n%s", n, body)
	}
	for _, want := range []string{
		"<td>tcp</td><td>10.1.2.3:51514</td><td>10.9.9.9:443</td>",
		"<td>udp</td><td>[2001:db8::1]:5353</td><td>[2001:db8::53]:53</td>",
		"<td>icmp</td><td>10.0.0.1</td><td>10.0.0.2</td>",
		`<td class="num">1.50</td>`,                         // rtt 1500 µs
		`<td class="num" title="26,000">26 kB</td>`,         // bytes rx
		`<td title="close_type 1">fin</td>`,                 // close type
		`<td title="2019-04-10 12:36:40 UTC">12:36:40</td>`, // start
	} {
		if !strings.Contains(body, want) {
			t.Errorf("top flows lack %s:\n%s", want, body)
		}
	}

	l7 := element(t, dom, "tbody", "l7-body")
	if n := strings.Count(l7, "<tr"); n != 2 {
		t.Errorf("l7: %d rows, want 2:\n%s", n, l7)
	}
	for _, want := range []string{
		"<td>HTTP</td><td>GET</td><td>/api/v1</td><td class=\"num\">120</td>",
		`<td class="num bad">3</td>`,  // server errors stand out
		`<td class="num">2.50</td>`,   // avg 2500 µs
		`<td class="num">48.00</td>`,  // max
		`<td class="num warn">2</td>`, // DNS client errors (NXDOMAIN)
	} {
		if !strings.Contains(l7, want) {
			t.Errorf("l7 table lacks %s:\n%s", want, l7)
		}
	}

	chart := element(t, dom, "div", "throughput-chart")
	if n := strings.Count(chart, "<svg"); n != 2 {
		t.Errorf("throughput: %d svg charts, want 2 (bits/s, packets/s)", n)
	}
	for _, cls := range []string{"line bps", "line pps"} {
		path := regexp.MustCompile(`<path d="M[\d.]+,[\d.]+(?: L[\d.]+,[\d.]+){89}" class="` + cls + `"`)
		if !path.MatchString(chart) {
			t.Errorf("throughput: no %q path of 90 points (15 min of 10 s buckets):\n%.2000s", cls, chart)
		}
	}
	if !strings.Contains(chart, "peak 16.8 kb/s") { // 21000 B * 8 / 10 s
		t.Errorf("throughput: bits/s peak missing:\n%.600s", chart)
	}

	// The page asked for the window first, then the 15-minute window
	// aligned to 10 s buckets and containing the newest flow.
	calls := stub.calls()
	if len(calls) < 5 || calls[0].name != "window" {
		t.Fatalf("calls %v, want window first and then the panels", calls)
	}
	for _, c := range calls[1:5] {
		if c.name == "window" || c.end != replayNewest+10 || c.end-c.start != 15*60 {
			t.Errorf("call %+v, want [%d, %d)", c, replayNewest+10-900, replayNewest+10)
		}
	}
}

func TestBrowserLiveWithErrors(t *testing.T) {
	requireChromium(t)
	const now = 1795600003
	stub := newAPIStub(t, func(name string) (int, string) {
		switch name {
		case "window":
			return http.StatusOK, fmt.Sprintf(`{"columns":["now_s","newest_s","replay","end_s"],"values":[[%d,%d,0,%d]]}`, now, now-1, now)
		case "topFlows":
			return http.StatusBadRequest, `{"error":"Code: 47, e.displayText() = DB::Exception: Unknown identifier: octets"}`
		case "totals":
			return http.StatusBadGateway, "clickhouse unreachable"
		}
		return http.StatusOK, `{"columns":["bucket","bytes","packets"],"values":[]}`
	})
	srv := serveConsole(t, stub)
	dom := dumpDOM(t, srv.URL+"/")

	if mode := element(t, dom, "span", "data-mode"); !strings.Contains(mode, ">live<") {
		t.Errorf("mode indicator: %s", mode)
	}
	banner := element(t, dom, "div", "error-banner")
	if regexp.MustCompile(`<div[^>]*\shidden`).MatchString(banner) {
		t.Errorf("error banner hidden: %s", banner)
	}
	for _, want := range []string{
		"topFlows: HTTP 400: Code: 47, e.displayText() = DB::Exception: Unknown identifier: octets",
		"totals: HTTP 502: clickhouse unreachable",
	} {
		if !strings.Contains(banner, want) {
			t.Errorf("error banner lacks %q: %s", want, banner)
		}
	}
	if got := element(t, dom, "span", "last-updated"); !strings.Contains(got, ">update failed ") {
		t.Errorf("last-updated: %s", got)
	}
	// The panel that worked is still drawn (all-zero buckets are a flat
	// line); the failed ones are dimmed.
	if !strings.Contains(element(t, dom, "div", "throughput-chart"), `class="line bps"`) {
		t.Error("throughput chart not drawn beside the failed panels")
	}
	for _, p := range []struct{ tag, id string }{{"dl", "total-values"}, {"section", "top-flows"}} {
		if !regexp.MustCompile(`^<` + p.tag + `[^>]*class="[^"]*\bstale\b`).MatchString(element(t, dom, p.tag, p.id)) {
			t.Errorf("failed panel %s is not marked stale", p.id)
		}
	}
	if regexp.MustCompile(`^<section[^>]*class="[^"]*\bstale\b`).MatchString(element(t, dom, "section", "throughput")) {
		t.Error("throughput panel marked stale though its query worked")
	}
	for _, c := range stub.calls() {
		if c.name != "window" && (c.end != now+7 || c.end-c.start != 15*60) {
			t.Errorf("call %+v, want the live window [%d, %d)", c, now+7-900, now+7)
		}
	}
}

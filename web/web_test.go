package web

import (
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The tests use only the standard library: testify's dependencies are not
// in go.sum yet, and this package does not own go.mod.

func get(t *testing.T, srv *httptest.Server, method, path string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestIndex(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()

	resp, body := get(t, srv, http.MethodGet, "/", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /: status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("GET /: Content-Type %q", ct)
	}
	if !strings.HasPrefix(body, "<!doctype html>") {
		t.Errorf("GET /: body does not start with a doctype: %.40q", body)
	}
	ids := map[string]bool{}
	for _, m := range regexp.MustCompile(`\bid="([^"]+)"`).FindAllStringSubmatch(body, -1) {
		if ids[m[1]] {
			t.Errorf("duplicate id %q", m[1])
		}
		ids[m[1]] = true
	}
	// The panels and every element app.js looks up by id.
	for _, id := range []string{
		"totals", "total-values", "total-flows", "total-packets", "total-bytes", "data-mode", "last-updated",
		"window", "pause", "error-banner",
		"throughput", "throughput-range", "throughput-chart",
		"top-flows", "top-flows-table", "top-flows-body",
		"l7", "l7-table", "l7-body",
	} {
		if !ids[id] {
			t.Errorf("index.html has no element with id %q", id)
		}
	}
	js := readAsset(t, "app.js")
	for _, m := range regexp.MustCompile(`\$\('([^']+)'\)`).FindAllStringSubmatch(js, -1) {
		if !ids[m[1]] {
			t.Errorf("app.js looks up id %q, which index.html lacks", m[1])
		}
	}
	if !strings.Contains(body, `<option value="15" selected>`) {
		t.Error("the window selector does not default to 15 minutes")
	}
	if !regexp.MustCompile(`(?i)end time`).MatchString(body) {
		t.Error("the throughput footnote about end-time attribution is missing")
	}
	if regexp.MustCompile(`(?i)(src|href)="(https?:)?//`).MatchString(body) {
		t.Error("index.html loads something from another origin; the appliance is offline")
	}

	// Every local asset the page references is served with a proper type.
	refs := regexp.MustCompile(`(?:src|href)="(/[^"]*)"`).FindAllStringSubmatch(body, -1)
	if len(refs) < 2 {
		t.Fatalf("index.html references %d local assets, want the script and the stylesheet", len(refs))
	}
	for _, m := range refs {
		resp, _ := get(t, srv, http.MethodGet, m[1], nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s (referenced by index.html): status %d", m[1], resp.StatusCode)
		}
	}
}

func TestAssets(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()

	for _, tc := range []struct {
		path, contentType, file string
	}{
		{"/assets/app.js", "text/javascript; charset=utf-8", "app.js"},
		{"/assets/style.css", "text/css; charset=utf-8", "style.css"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp, body := get(t, srv, http.MethodGet, tc.path, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if ct := resp.Header.Get("Content-Type"); ct != tc.contentType {
				t.Errorf("Content-Type %q, want %q", ct, tc.contentType)
			}
			if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q, want nosniff", got)
			}
			if body != readAsset(t, tc.file) {
				t.Error("body differs from the embedded file")
			}

			// Revalidation with the ETag is answered without a body.
			etag := resp.Header.Get("ETag")
			if etag == "" {
				t.Fatal("no ETag")
			}
			resp, body = get(t, srv, http.MethodGet, tc.path, http.Header{"If-None-Match": {etag}})
			if resp.StatusCode != http.StatusNotModified || body != "" {
				t.Errorf("If-None-Match: status %d, %d body bytes; want 304 and none", resp.StatusCode, len(body))
			}

			resp, body = get(t, srv, http.MethodHead, tc.path, nil)
			if resp.StatusCode != http.StatusOK || body != "" {
				t.Errorf("HEAD: status %d, %d body bytes", resp.StatusCode, len(body))
			}
		})
	}
}

func TestNotFoundAndMethods(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()

	for _, path := range []string{
		"/nope", "/index.html", "/assets/", "/assets", "/assets/missing.js", "/app.js",
		"/assets/../web.go", "/web.go", "/v1/query", "/favicon.ico",
	} {
		resp, _ := get(t, srv, http.MethodGet, path, nil)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", path, resp.StatusCode)
		}
	}
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		resp, _ := get(t, srv, method, "/", nil)
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s /: status %d, want 405", method, resp.StatusCode)
		}
		if allow := resp.Header.Get("Allow"); allow != "GET, HEAD" {
			t.Errorf("%s /: Allow %q", method, allow)
		}
	}
}

func readAsset(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("assets/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// parseQueries returns the named SQL statements of the QUERIES object in
// app.js. It relies on the layout app.js promises: `const QUERIES = {`,
// entries `name: `...`,` and a closing `};` at the start of a line.
func parseQueries(t *testing.T) map[string]string {
	t.Helper()
	js := readAsset(t, "app.js")
	block := regexp.MustCompile("(?s)\nconst QUERIES = \\{\n(.*?)\n\\};\n").FindStringSubmatch(js)
	if block == nil {
		t.Fatal("app.js: no `const QUERIES = {...};` block")
	}
	entries := regexp.MustCompile("(?m)^  (\\w+): `([^`]*)`,").FindAllStringSubmatch(block[1], -1)
	if strings.Count(block[1], "`") != 2*len(entries) {
		t.Fatalf("app.js: QUERIES has template literals this test cannot parse")
	}
	queries := map[string]string{}
	for _, e := range entries {
		if _, dup := queries[e[1]]; dup {
			t.Fatalf("app.js: query %q defined twice", e[1])
		}
		queries[e[1]] = e[2]
	}
	return queries
}

// bind does what bind() in app.js does: replace {start} and {end} with
// integer Unix seconds.
func bind(sql string, start, end int64) string {
	return strings.NewReplacer("{start}", strconv.FormatInt(start, 10), "{end}", strconv.FormatInt(end, 10)).Replace(sql)
}

// writeWords are the ClickHouse keywords that start or are part of a
// statement that changes something, or that would pick the output format
// the query API owns.
var writeWords = regexp.MustCompile(`(?i)\b(insert|into|alter|drop|create|truncate|rename|optimize|attach|detach|kill|system|grant|revoke|set|delete|update|format|outfile|settings)\b`)

// missingIn1816 are constructs ClickHouse 18.16 does not have.
var missingIn1816 = regexp.MustCompile(`(?i)\b(toStartOfInterval|with\s+fill|over\s*\(|DateTime64|toIPv4|toIPv6|lag|lead|row_number)\b`)

func TestQueriesAreSingleReads(t *testing.T) {
	queries := parseQueries(t)
	names := slices.Sorted(maps.Keys(queries))
	if want := []string{"throughput", "topFlows", "topL7", "totals", "window"}; !slices.Equal(names, want) {
		t.Errorf("QUERIES has %v, want %v", names, want)
	}

	js := readAsset(t, "app.js")
	called := map[string]bool{}
	for _, m := range regexp.MustCompile(`\bquery\('(\w+)'`).FindAllStringSubmatch(js, -1) {
		called[m[1]] = true
		if _, ok := queries[m[1]]; !ok {
			t.Errorf("app.js calls query(%q), which QUERIES lacks", m[1])
		}
	}
	// Nothing but query() may reach the API: one fetch, of the API URL.
	if n := strings.Count(js, "fetch("); n != 1 || !strings.Contains(js, "fetch(API,") {
		t.Errorf("app.js has %d fetch calls; want exactly one, fetch(API, ...)", n)
	}
	if !strings.Contains(js, "const API = '/v1/query';") {
		t.Error("app.js: API is not '/v1/query'")
	}

	for name, sql := range queries {
		t.Run(name, func(t *testing.T) {
			if !called[name] {
				t.Errorf("query %q is never sent", name)
			}
			s := strings.TrimSpace(sql)
			if !regexp.MustCompile(`^(?i)select\s`).MatchString(s) {
				t.Errorf("does not start with SELECT: %.30q", s)
			}
			if strings.Contains(s, ";") {
				t.Error("contains ';': must be a single statement")
			}
			for _, c := range []string{"--", "/*", "#"} {
				if strings.Contains(s, c) {
					t.Errorf("contains %q: no comments in SQL", c)
				}
			}
			if strings.Contains(s, "${") {
				t.Error("contains ${: JS interpolation would bypass bind()")
			}
			if m := writeWords.FindString(s); m != "" {
				t.Errorf("contains %q: only reads are allowed", m)
			}
			if m := missingIn1816.FindString(s); m != "" {
				t.Errorf("uses %q, which ClickHouse 18.16 lacks", m)
			}
			for _, m := range regexp.MustCompile(`\{[^}]*\}`).FindAllString(s, -1) {
				if m != "{start}" && m != "{end}" {
					t.Errorf("unknown placeholder %s", m)
				}
			}
			if strings.Count(s, "'") != 0 || strings.Count(s, `"`) != 0 {
				t.Error("contains string literals or quoted identifiers; nothing needs them")
			}
			for _, m := range regexp.MustCompile(`(?i)\bfrom\s+([\w.]+)`).FindAllStringSubmatch(s, -1) {
				if m[1] != "flow_log.l4_flow_log" && m[1] != "flow_log.l7_flow_log" {
					t.Errorf("reads %s; the console reads only flow_log.l4_flow_log and flow_log.l7_flow_log", m[1])
				}
			}
			if strings.Contains(s, "{start}") != strings.Contains(s, "{end}") {
				t.Error("uses only one of {start} and {end}")
			}
		})
	}
}

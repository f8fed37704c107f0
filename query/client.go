package query

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Path is where Handler is mounted.
const Path = "/v1/query"

// Client runs queries against a tapflow server's /v1/query.
type Client struct {
	// HTTP is the client used; nil means http.DefaultClient.
	HTTP *http.Client
}

// Do runs sql in database db on the tapflow server at addr ("host:port" or
// a URL such as "http://host:port"; Path is appended). A rejected query
// returns an error carrying the server's message. Numbers in the result are
// json.Number, so UInt64 values stay exact.
func (c *Client) Do(ctx context.Context, addr, db, sql string) (*Result, error) {
	url := strings.TrimRight(addr, "/")
	if !strings.Contains(url, "://") {
		url = "http://" + url
	}
	if !strings.HasSuffix(url, Path) {
		url += Path
	}
	body, err := json.Marshal(request{DB: db, SQL: sql})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("query %s: read response: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e errorBody
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return nil, fmt.Errorf("query: %s (HTTP %d)", e.Error, resp.StatusCode)
		}
		return nil, fmt.Errorf("query %s: HTTP %d: %s", url, resp.StatusCode, strings.TrimSpace(string(data)))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var res Result
	if err := dec.Decode(&res); err != nil {
		return nil, fmt.Errorf("query %s: decode response: %w", url, err)
	}
	return &res, nil
}

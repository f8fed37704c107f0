package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/tapflow/tapflow/storage/clickhouse"
)

// Querier runs one read query. *clickhouse.DB implements it.
type Querier interface {
	Query(ctx context.Context, database, sql string, opts clickhouse.QueryOptions) (*clickhouse.Result, error)
}

// Config bounds the queries the handler runs.
type Config struct {
	// Timeout is the server-side max_execution_time of a query (default
	// 30s).
	Timeout time.Duration `yaml:"timeout"`
	// MaxRows is the most rows in a response (default 10000); more set
	// "truncated".
	MaxRows int `yaml:"max_rows"`
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config { return Config{Timeout: 30 * time.Second, MaxRows: 10000} }

// Validate checks c; errors name the key.
func (c Config) Validate() error {
	var errs []error
	if c.Timeout < time.Second {
		errs = append(errs, errors.New("timeout: must be at least 1s"))
	}
	if c.MaxRows < 1 {
		errs = append(errs, errors.New("max_rows: must be at least 1"))
	}
	return errors.Join(errs...)
}

// Result is the JSON body of a successful query.
type Result struct {
	Columns   []string `json:"columns"`
	Types     []string `json:"types"`
	Values    [][]any  `json:"values"`
	Truncated bool     `json:"truncated"`
}

// errorBody is the JSON body of a failed query.
type errorBody struct {
	Error string `json:"error"`
}

// request is the JSON request body.
type request struct {
	DB  string `json:"db"`
	SQL string `json:"sql"`
}

// maxBodyBytes bounds a request body.
const maxBodyBytes = 1 << 20

type handler struct {
	db     Querier
	cfg    Config
	logger *slog.Logger
}

// Handler serves POST (and GET) /v1/query with DefaultConfig.
func Handler(db Querier, logger *slog.Logger) http.Handler {
	return NewHandler(db, DefaultConfig(), logger)
}

// NewHandler serves POST /v1/query: a JSON body {"db": "...", "sql":
// "..."}, or form fields db and sql; GET takes them as URL parameters. Zero
// fields of cfg take DefaultConfig values; logger may be nil.
func NewHandler(db Querier, cfg Config, logger *slog.Logger) http.Handler {
	d := DefaultConfig()
	if cfg.Timeout <= 0 {
		cfg.Timeout = d.Timeout
	}
	if cfg.MaxRows <= 0 {
		cfg.MaxRows = d.MaxRows
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &handler{db: db, cfg: cfg, logger: logger.With("component", "query")}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET, POST")
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed; use POST")
		return
	}
	req, err := parseRequest(w, r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := CheckReadOnly(req.SQL); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	start := time.Now()
	res, err := h.db.Query(r.Context(), req.DB, req.SQL, clickhouse.QueryOptions{MaxRows: h.cfg.MaxRows, Timeout: h.cfg.Timeout})
	if err != nil {
		status := statusOf(err)
		if status >= 500 {
			h.logger.Warn("query failed", "db", req.DB, "status", status, "err", err)
		} else {
			h.logger.Debug("query rejected", "db", req.DB, "status", status, "err", err)
		}
		writeError(w, status, err.Error())
		return
	}
	out := convert(res)
	h.logger.Debug("query", "db", req.DB, "rows", len(out.Values), "truncated", out.Truncated,
		"seconds", time.Since(start).Seconds())
	writeJSON(w, http.StatusOK, out)
}

// statusOf maps a query error to an HTTP status.
func statusOf(err error) int {
	var se *clickhouse.ServerError
	switch {
	case errors.As(err, &se), errors.Is(err, clickhouse.ErrBadDatabase):
		return http.StatusBadRequest
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	case errors.Is(err, context.Canceled):
		return 499 // client closed the request (nginx's code); nobody reads it
	}
	return http.StatusBadGateway
}

// parseRequest reads db and sql from a JSON body, a form body, or the URL.
func parseRequest(w http.ResponseWriter, r *http.Request) (request, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	var req request
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case r.Method == http.MethodPost && (ct == "application/json" || strings.HasSuffix(ct, "+json")):
		if err := decodeJSON(r.Body, &req); err != nil {
			return req, err
		}
	case r.Method == http.MethodPost && ct == "multipart/form-data":
		if err := r.ParseMultipartForm(maxBodyBytes); err != nil {
			return req, fmt.Errorf("bad form body: %w", err)
		}
		req = request{DB: r.FormValue("db"), SQL: r.FormValue("sql")}
	case r.Method == http.MethodPost && ct == "":
		// No content type: JSON if it looks like JSON, else a form.
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return req, fmt.Errorf("read body: %w", err)
		}
		if trimmed := strings.TrimSpace(string(body)); strings.HasPrefix(trimmed, "{") {
			if err := decodeJSON(strings.NewReader(trimmed), &req); err != nil {
				return req, err
			}
			break
		}
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		fallthrough
	default:
		if err := r.ParseForm(); err != nil {
			return req, fmt.Errorf("bad form body: %w", err)
		}
		req = request{DB: r.FormValue("db"), SQL: r.FormValue("sql")}
	}
	if strings.TrimSpace(req.SQL) == "" {
		return req, fmt.Errorf("%w: give sql as a JSON field, a form field or a URL parameter", ErrEmptyQuery)
	}
	return req, nil
}

func decodeJSON(r io.Reader, req *request) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(req); err != nil {
		return fmt.Errorf("bad JSON body (want {\"db\": \"...\", \"sql\": \"...\"}): %w", err)
	}
	return nil
}

// convert turns a storage result into the response body.
func convert(res *clickhouse.Result) *Result {
	out := &Result{
		Columns:   make([]string, len(res.Columns)),
		Types:     make([]string, len(res.Columns)),
		Values:    make([][]any, len(res.Rows)),
		Truncated: res.Truncated,
	}
	for i, c := range res.Columns {
		out.Columns[i], out.Types[i] = c.Name, c.Type
	}
	for i, row := range res.Rows {
		vals := make([]any, len(row))
		for j, v := range row {
			vals[j] = jsonValue(v, out.Types[j])
		}
		out.Values[i] = vals
	}
	return out
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(errorBody{Error: "encode result: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

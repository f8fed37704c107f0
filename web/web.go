package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"net/http"
	"time"
)

//go:embed assets
var assets embed.FS

// routes maps each URL path the console serves to its embedded file.
var routes = map[string]struct{ file, contentType string }{
	"/":                 {"assets/index.html", "text/html; charset=utf-8"},
	"/assets/app.js":    {"assets/app.js", "text/javascript; charset=utf-8"},
	"/assets/style.css": {"assets/style.css", "text/css; charset=utf-8"},
}

// csp allows the page its own scripts, styles and fetches (the query API on
// the same origin) and nothing else.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
	"img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

type page struct {
	name        string
	contentType string
	etag        string
	body        []byte
}

// Handler returns the console's HTTP handler. It answers GET and HEAD for
// "/" and the page's assets, 405 for other methods on those paths, and 404
// for every other path. Responses carry an ETag and "Cache-Control:
// no-cache", so browsers revalidate and pick up a new binary's assets.
func Handler() http.Handler {
	pages := make(map[string]page, len(routes))
	for path, r := range routes {
		body, err := assets.ReadFile(r.file)
		if err != nil {
			panic("BUG: web: embedded asset missing: " + r.file)
		}
		sum := sha256.Sum256(body)
		pages[path] = page{
			name:        r.file,
			contentType: r.contentType,
			etag:        `"` + hex.EncodeToString(sum[:8]) + `"`,
			body:        body,
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		p, ok := pages[req.URL.Path]
		if !ok {
			http.NotFound(w, req)
			return
		}
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", p.contentType)
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", p.etag)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", csp)
		h.Set("Referrer-Policy", "no-referrer")
		http.ServeContent(w, req, p.name, time.Time{}, bytes.NewReader(p.body))
	})
}

package main

import (
	"fmt"
	"io"
	"net/http"
	"time"
)

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/users/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":42,"name":"alice"}`)
	})
	mux.HandleFunc("/api/v1/items", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"created":%q}`, b)
	})
	mux.HandleFunc("/boom/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "internal error: database unreachable", http.StatusInternalServerError)
	})
	mux.HandleFunc("/unavailable", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/stream/chunks", func(w http.ResponseWriter, r *http.Request) {
		f := w.(http.Flusher)
		for i := 0; i < 3; i++ {
			fmt.Fprintf(w, "chunk %d\n", i)
			f.Flush()
			time.Sleep(5 * time.Millisecond)
		}
	})
	mux.HandleFunc("/a/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "ok %s\n", r.URL.Path) })
	srv := &http.Server{Addr: "127.0.0.1:18080", Handler: mux}
	go func() { time.Sleep(60 * time.Second); srv.Close() }()
	srv.ListenAndServe()
}

package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
)

func main() {
	switch os.Args[1] {
	case "h2c":
		mux := http.NewServeMux()
		mux.HandleFunc("/api/v1/users/", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"id":42,"name":"alice"}`)
		})
		mux.HandleFunc("/boom/", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "internal error", http.StatusInternalServerError)
		})
		srv := &http.Server{Addr: "127.0.0.1:18082", Handler: h2c.NewHandler(mux, &http2.Server{})}
		go func() { time.Sleep(30 * time.Second); srv.Close() }()
		srv.ListenAndServe()
	case "h2cclient":
		tr := &http2.Transport{AllowHTTP: true, DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			return net.Dial(network, addr)
		}}
		c := &http.Client{Transport: tr}
		for _, u := range []string{"/api/v1/users/7", "/missing/page", "/boom/internal/error"} {
			req, _ := http.NewRequest("GET", "http://127.0.0.1:18082"+u, nil)
			req.Header.Set("X-B3-TraceId", "463ac35c9f6413ad48485a3953bb6124")
			req.Header.Set("X-B3-SpanId", "a2fb4a1d1a96d312")
			resp, err := c.Do(req)
			if err != nil {
				log.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			log.Println(u, resp.Status)
			time.Sleep(20 * time.Millisecond)
		}
	case "grpcserver":
		lis, err := net.Listen("tcp", "127.0.0.1:7070")
		if err != nil {
			log.Fatal(err)
		}
		s := grpc.NewServer()
		hs := health.NewServer()
		hs.SetServingStatus("tapflow.Orders", healthpb.HealthCheckResponse_SERVING)
		healthpb.RegisterHealthServer(s, hs)
		go func() { time.Sleep(30 * time.Second); s.Stop() }()
		s.Serve(lis)
	case "grpcclient":
		conn, err := grpc.NewClient("127.0.0.1:7070", grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			log.Fatal(err)
		}
		defer conn.Close()
		c := healthpb.NewHealthClient(conn)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		tctx := metadata.AppendToOutgoingContext(ctx, "traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
		r, err := c.Check(tctx, &healthpb.HealthCheckRequest{Service: "tapflow.Orders"})
		log.Println("check known:", r, err)
		time.Sleep(50 * time.Millisecond)
		sctx := metadata.AppendToOutgoingContext(ctx, "sw8", "1-YTljNGU3ZjJiMWQwNGUzYzhmNmE1YjJjMWQwZTlmOGEuMTAxLjE3MDAwMDAwMDAwMDAwMDAx-NWUwZjNjMmExYjlkNGM4ZS4xMDEuMTcwMDAwMDAwMDAwMDAwMDI=-1-ZnJvbnRlbmQ=-ZnJvbnRlbmQtN2Q5ZkAxMC4wLjAuNQ==-L2FwaS92MS9pdGVtcw==-MTI3LjAuMC4xOjcwNzA=")
		r, err = c.Check(sctx, &healthpb.HealthCheckRequest{Service: "tapflow.Unknown"})
		log.Println("check unknown:", r, err)
		time.Sleep(50 * time.Millisecond)
		err = conn.Invoke(ctx, "/helloworld.Greeter/SayHello", &healthpb.HealthCheckRequest{}, &healthpb.HealthCheckResponse{})
		log.Println("unimplemented:", err)
		time.Sleep(50 * time.Millisecond)
		r, err = c.Check(ctx, &healthpb.HealthCheckRequest{Service: "tapflow.Orders"})
		log.Println("check known again:", r, err)
		time.Sleep(50 * time.Millisecond)
		// Errors as the first call of a fresh connection: their headers
		// are literals, not dynamic-table references.
		for i := 0; i < 2; i++ {
			conn2, err := grpc.NewClient("127.0.0.1:7070", grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				log.Fatal(err)
			}
			if i == 0 {
				r, err = healthpb.NewHealthClient(conn2).Check(metadata.AppendToOutgoingContext(ctx, "x-request-id", "9b2f6c1e-7d4a-4f3b-8e2a-5c6d7e8f9a0b"),
					&healthpb.HealthCheckRequest{Service: "tapflow.Unknown"})
				log.Println("fresh check unknown:", r, err)
			} else {
				err = conn2.Invoke(ctx, "/helloworld.Greeter/SayHello", &healthpb.HealthCheckRequest{}, &healthpb.HealthCheckResponse{})
				log.Println("fresh unimplemented:", err)
			}
			time.Sleep(50 * time.Millisecond)
			conn2.Close()
		}
	}
}

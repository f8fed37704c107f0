package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/tapflow/tapflow/dataplane"
)

func newApplianceCmd() *cobra.Command {
	var (
		cfgPath string
		ifaces  string
		engine  string
		pcap    string
		listen  string
		rebase  bool
		workers int
		store   storeFlags
	)
	cmd := &cobra.Command{
		Use:   "appliance",
		Short: "Capture mirror ports, analyze, store in ClickHouse and serve the console",
		Long: `appliance is tapflow's main mode: it captures one or more mirror ports
(AF_PACKET TPACKET_V3 or AF_XDP) or replays a capture file, builds flows with
L4 metrics, writes them to ClickHouse (starting the embedded server when no
address is configured) and serves the query API, the console and /metrics.`,
		Example: `  tapflow appliance --iface eth1,eth2
  tapflow appliance --iface eth1 --engine xdp --clickhouse 10.0.0.5:9000
  tapflow appliance --pcap capture.pcap --rebase-time   # demo: replay, then keep serving`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cfgPath)
			if err != nil {
				return err
			}
			fl := cmd.Flags()
			if fl.Changed("iface") {
				cfg.Capture.Interfaces = splitList(ifaces)
			}
			if fl.Changed("engine") {
				cfg.Capture.Engine = engine
			}
			if pcap != "" {
				cfg.Capture.Engine, cfg.Capture.Pcap = "pcap", pcap
			}
			if fl.Changed("listen") {
				cfg.HTTP.Listen = listen
			}
			if fl.Changed("workers") {
				cfg.Dataplane.Workers = workers
			}
			store.apply(&cfg.Storage, fl)
			if err := cfg.validate(); err != nil {
				return err
			}
			return runAppliance(cmd.Context(), cfg, rebase, newLogger(cmd.ErrOrStderr()))
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfgPath, "config", "", "YAML configuration file (see `tapflow config print-default`)")
	f.StringVar(&ifaces, "iface", "", "comma-separated capture interfaces (mirror ports)")
	f.StringVar(&engine, "engine", "afpacket", "capture engine: afpacket or xdp")
	f.StringVar(&pcap, "pcap", "", "replay this capture file instead of capturing, then keep serving")
	f.BoolVar(&rebase, "rebase-time", false, "with --pcap: shift timestamps so the capture ends now")
	f.StringVar(&listen, "listen", "127.0.0.1:20416", "HTTP address for the console, /v1/query and /metrics")
	f.IntVar(&workers, "workers", 0, "flow-table workers (0 = one per CPU)")
	store.register(cmd)
	return cmd
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func runAppliance(ctx context.Context, cfg Config, rebase bool, logger *slog.Logger) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	st, err := openStore(ctx, cfg.Storage, logger, reg, cfg.Capture.Engine == dataplane.EnginePcap)
	if err != nil {
		return err
	}
	defer st.Close()
	go st.enforceRetention(ctx, cfg.Storage.Retention)

	p, err := dataplane.New(cfg.Dataplane, st, logger)
	if err != nil {
		return err
	}
	reg.MustRegister(dataplane.NewCollector(p))

	// The capture opens before the console answers, so that a console (or
	// /metrics) that is up means packets on the mirror port are being
	// captured; the ring holds them until the pipeline runs.
	src, err := openSource(cfg.Capture, rebase, logger)
	if err != nil {
		return err
	}
	if live, ok := src.(dataplane.LiveSource); ok {
		reg.MustRegister(dataplane.NewCaptureCollector(live))
	}

	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		src.Close()
		return fmt.Errorf("listen %s: %w", cfg.HTTP.Listen, err)
	}
	srv := &http.Server{Handler: newMux(st, reg, logger), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	logger.Info("console ready", "url", "http://"+ln.Addr().String()+"/", "clickhouse", st.addr)

	runErr := p.Run(ctx, src)
	src.Close()
	s := p.Stats()
	logger.Info("capture finished", "packets", s.Received, "decoded", s.Decoded, "dedup_dropped", s.DedupDropped, "flows", s.Flows.Created)
	if runErr != nil && !errors.Is(runErr, dataplane.ErrTruncated) {
		return runErr
	}
	if cfg.Capture.Engine == dataplane.EnginePcap && ctx.Err() == nil {
		// Replay done: flush the writer so the console sees everything, then serve until stopped.
		if err := st.Flush(ctx); err != nil {
			logger.Warn("flush after replay", "err", err)
		}
		logger.Info("replay stored; serving until interrupted", "url", "http://"+ln.Addr().String()+"/")
		<-ctx.Done()
	}
	return nil
}

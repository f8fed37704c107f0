package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/tapflow/tapflow/query"
	"github.com/tapflow/tapflow/web"
)

func newQueryCmd() *cobra.Command {
	var (
		server string
		db     string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "query SQL",
		Short: "Run a read-only SQL query through a tapflow server's /v1/query and print a table",
		Example: `  tapflow query 'SELECT count() FROM flow_log.l4_flow_log'
  tapflow query --server 10.0.0.7:20416 'SELECT server_port, sum(bytes_rx) AS b FROM flow_log.l4_flow_log GROUP BY server_port ORDER BY b DESC LIMIT 10'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var c query.Client
			res, err := c.Do(cmd.Context(), server, db, args[0])
			if errors.Is(err, syscall.ECONNREFUSED) {
				return fmt.Errorf("%w (is `tapflow appliance` or `tapflow serve` listening on %s? see --server)", err, server)
			}
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(res)
			}
			return res.WriteTable(cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&server, "server", "127.0.0.1:20416", "tapflow HTTP address (appliance or serve)")
	cmd.Flags().StringVar(&db, "db", "flow_log", "default database")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the raw JSON result")
	return cmd
}

func newServeCmd() *cobra.Command {
	var (
		listen string
		store  storeFlags
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the query API, console and /metrics over an existing ClickHouse, without capturing",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger := newLogger(cmd.ErrOrStderr())
			st, err := openDB(cmd.Context(), store.config(), logger)
			if err != nil {
				return err
			}
			defer st.Close()
			reg := prometheus.NewRegistry()
			reg.MustRegister(collectors.NewGoCollector())
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("listen %s: %w", listen, err)
			}
			srv := &http.Server{Handler: newMux(st, reg, logger), ReadHeaderTimeout: 10 * time.Second}
			go srv.Serve(ln)
			logger.Info("console ready", "url", "http://"+ln.Addr().String()+"/", "clickhouse", st.addr)
			<-cmd.Context().Done()
			return srv.Close()
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:20416", "HTTP address for the console, /v1/query and /metrics")
	store.register(cmd)
	return cmd
}

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Inspect tapflow's configuration"}
	cmd.AddCommand(&cobra.Command{
		Use:   "print-default",
		Short: "Print the default configuration as YAML (a starting point for --config)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return writeYAML(cmd.OutOrStdout(), defaultConfig())
		},
	})
	return cmd
}

func writeYAML(w io.Writer, v any) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return err
	}
	return enc.Close()
}

// newMux routes the console, the query API and /metrics.
func newMux(st *store, reg *prometheus.Registry, logger *slog.Logger) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle(query.Path, query.Handler(st.db, logger))
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.Handle("/", web.Handler())
	return mux
}

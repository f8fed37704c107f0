package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/flowtable"
	"github.com/tapflow/tapflow/storage/chserver"
	"github.com/tapflow/tapflow/storage/clickhouse"
)

// storeFlags are the storage flags shared by replay, appliance and serve.
type storeFlags struct {
	addr      string
	dataDir   string
	batchSize int
}

func (s *storeFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&s.addr, "clickhouse", "", "ClickHouse native address host:port (empty: start the embedded server under --data-dir)")
	cmd.Flags().StringVar(&s.dataDir, "data-dir", "/var/lib/tapflow", "data directory: embedded ClickHouse, disk spool")
	cmd.Flags().IntVar(&s.batchSize, "batch-size", defaultConfig().Storage.BatchSize, "rows per ClickHouse INSERT")
}

// apply copies the flags that were set over cfg.
func (s *storeFlags) apply(cfg *StorageConfig, fl *pflag.FlagSet) {
	if fl.Changed("clickhouse") {
		cfg.ClickHouse = s.addr
	}
	if fl.Changed("data-dir") {
		cfg.DataDir = s.dataDir
	}
	if fl.Changed("batch-size") {
		cfg.BatchSize = s.batchSize
	}
}

func (s *storeFlags) config() StorageConfig {
	cfg := defaultConfig().Storage
	cfg.ClickHouse, cfg.DataDir, cfg.BatchSize = s.addr, s.dataDir, s.batchSize
	return cfg
}

// store is the storage side of a running tapflow: the embedded ClickHouse
// (if tapflow started it), the connection and the flow writer.
type store struct {
	srv  *chserver.Server
	db   *clickhouse.DB
	w    *clickhouse.Writer
	mw   *clickhouse.MetricsWriter // network / network_map 1s and 1m rows
	lw   *clickhouse.L7Writer      // l7_flow_log rows
	addr string
	log  *slog.Logger
}

// openStore connects to ClickHouse (starting the embedded one when no
// address is configured), creates the schema and starts the writers. With
// block (replaying a file) the writers wait for room instead of dropping
// rows; live capture never waits on storage.
func openStore(ctx context.Context, cfg StorageConfig, logger *slog.Logger, reg prometheus.Registerer, block bool) (*store, error) {
	st, err := openDB(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	wc := clickhouse.DefaultWriterConfig()
	wc.BatchSize = cfg.BatchSize
	wc.FlushInterval = cfg.FlushInterval
	wc.SpoolDir = filepath.Join(cfg.DataDir, "spool")
	wc.Block = block
	st.w, err = clickhouse.NewWriter(st.db, wc, reg, logger)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("start flow writer: %w", err)
	}
	mc := wc
	mc.SpoolDir = filepath.Join(cfg.DataDir, "spool", "flow_metrics")
	st.mw, err = clickhouse.NewMetricsWriter(st.db, mc, reg, logger)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("start metrics writer: %w", err)
	}
	lc := wc
	st.lw, err = clickhouse.NewL7Writer(st.db, lc, reg, logger)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("start l7 writer: %w", err)
	}
	return st, nil
}

// openDB is openStore without the writer, for read-only use.
func openDB(ctx context.Context, cfg StorageConfig, logger *slog.Logger) (*store, error) {
	st := &store{addr: cfg.ClickHouse, log: logger}
	if st.addr == "" {
		dir := filepath.Join(cfg.DataDir, "clickhouse")
		logger.Info("starting embedded ClickHouse", "data_dir", dir)
		srv, err := chserver.Start(ctx, chserver.Options{DataDir: dir, Logger: logger, Reuse: true})
		if err != nil {
			return nil, fmt.Errorf("embedded ClickHouse (install clickhouse-server, or pass --clickhouse host:port): %w", err)
		}
		st.srv, st.addr = srv, srv.Addr()
	}
	cc := clickhouse.DefaultConfig()
	cc.Addr = st.addr
	cc.Retention = cfg.Retention
	db, err := clickhouse.Open(ctx, cc, logger)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("connect to ClickHouse at %s: %w", st.addr, err)
	}
	st.db = db
	if err := db.EnsureSchema(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("create schema: %w", err)
	}
	logger.Info("ClickHouse ready", "addr", st.addr, "version", db.Version().String())
	return st, nil
}

// enforceRetention drops partitions older than the retention every hour
// until ctx ends. Servers with TTL expire rows themselves; on those without
// (Debian's 18.16) this is the only retention.
func (s *store) enforceRetention(ctx context.Context, retention time.Duration) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		dropped, err := s.db.DropOldPartitions(ctx, time.Now().Add(-retention))
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Warn("retention: dropping old partitions failed", "err", err)
		case len(dropped) > 0:
			s.log.Info("retention: dropped old partitions", "partitions", len(dropped), "older_than_s", retention.Seconds())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// WriteFlows hands records to the writer; it never blocks capture.
func (s *store) WriteFlows(recs []flowtable.FlowRecord) { s.w.Write(recs) }

// WriteL7 hands l7_flow_log rows to their writer. Its presence is what
// turns the L7 stage on (with dataplane.dissectors.enabled).
func (s *store) WriteL7(logs []dissectors.Log) { s.lw.Write(logs) }

// WriteMetrics hands 1 s / 1 m aggregate rows to their writer. Its
// presence is what makes the flow tables aggregate.
func (s *store) WriteMetrics(rows []flowtable.MetricRow) { s.mw.Write(rows) }

// Flush waits until every record written so far is in ClickHouse or the spool.
func (s *store) Flush(ctx context.Context) error {
	if s.w == nil {
		return nil
	}
	if err := s.w.Flush(ctx); err != nil {
		return err
	}
	if err := s.lw.Flush(ctx); err != nil {
		return err
	}
	return s.mw.Flush(ctx)
}

// Close drains the writer, then closes the connection and stops the
// embedded server if this process started it.
func (s *store) Close() error {
	var errs []error
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if s.w != nil {
		errs = append(errs, s.w.Close(ctx))
	}
	if s.mw != nil {
		errs = append(errs, s.mw.Close(ctx))
	}
	if s.lw != nil {
		errs = append(errs, s.lw.Close(ctx))
	}
	if s.db != nil {
		errs = append(errs, s.db.Close())
	}
	if s.srv != nil {
		errs = append(errs, s.srv.Stop())
	}
	return errors.Join(errs...)
}

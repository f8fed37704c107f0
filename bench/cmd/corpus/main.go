// Command corpus builds the benchmark corpus (make bench-corpus): the
// shared nDPI and tcpdump captures merged in time order and multiplied with
// address rewriting, written to build/bench/corpus.pcap. It prints the
// packet count, flow count and sha256, and does nothing when the file
// already matches its stamp. See bench/README.md.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/tapflow/tapflow/bench"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "corpus:", err)
		os.Exit(1)
	}
}

func run() error {
	root, err := bench.RepoRoot()
	if err != nil {
		return err
	}
	cfg := bench.DefaultCorpusConfig(root)
	flag.StringVar(&cfg.Out, "out", cfg.Out, "corpus pcap to write")
	flag.BoolVar(&cfg.Force, "force", false, "rebuild even if the stamp matches")
	flag.Int64Var(&cfg.MinPackets, "packets", cfg.MinPackets, "at least this many packets")
	flag.Int64Var(&cfg.MinFlows, "flows", cfg.MinFlows, "at least this many flows")
	flag.Parse()
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	info, err := bench.BuildCorpus(cfg)
	if err != nil {
		return err
	}
	fmt.Println(info)
	return nil
}

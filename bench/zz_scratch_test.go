package bench

import (
	"log/slog"
	"os"
	"testing"
)

func TestScratchCorpus(t *testing.T) {
	cfg := DefaultCorpusConfig("/work/main")
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	info, err := BuildCorpus(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(info)
}

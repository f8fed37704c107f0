package main

import (
	"bytes"
	"fmt"
	"os"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tapflow/tapflow/dataplane"
)

// Config is the whole tapflow.yaml tree. Each package owns its part; this
// file only assembles them.
type Config struct {
	Capture   CaptureConfig    `yaml:"capture"`
	Dataplane dataplane.Config `yaml:"dataplane"`
	Storage   StorageConfig    `yaml:"storage"`
	HTTP      HTTPConfig       `yaml:"http"`
}

// CaptureConfig says where packets come from: the live engine's settings
// (engine, interfaces, rings) or a capture file to replay.
type CaptureConfig struct {
	dataplane.LiveConfig `yaml:",inline"`
	// Pcap is a capture file to replay (engine pcap).
	Pcap string `yaml:"pcap"`
}

// StorageConfig says where flows are written.
type StorageConfig struct {
	// ClickHouse is host:port of the native protocol; empty starts the
	// embedded server under DataDir.
	ClickHouse    string        `yaml:"clickhouse"`
	DataDir       string        `yaml:"data_dir"`
	BatchSize     int           `yaml:"batch_size"`
	FlushInterval time.Duration `yaml:"flush_interval"`
	Retention     time.Duration `yaml:"retention"`
}

// HTTPConfig is the API, console and /metrics listener.
type HTTPConfig struct {
	Listen string `yaml:"listen"`
}

func defaultConfig() Config {
	return Config{
		Capture:   CaptureConfig{LiveConfig: dataplane.DefaultLiveConfig()},
		Dataplane: dataplane.DefaultConfig(),
		Storage: StorageConfig{
			DataDir:       "/var/lib/tapflow",
			BatchSize:     50000,
			FlushInterval: time.Second,
			Retention:     7 * 24 * time.Hour,
		},
		HTTP: HTTPConfig{Listen: "127.0.0.1:20416"},
	}
}

// loadConfig reads path over the defaults; unknown keys are errors.
func loadConfig(path string) (Config, error) {
	cfg := defaultConfig()
	if path == "" {
		return cfg, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("read config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, cfg.validate()
}

func (c Config) validate() error {
	if c.Capture.Engine == dataplane.EnginePcap {
		if c.Capture.Pcap == "" {
			return fmt.Errorf("capture.pcap: a file is needed for engine pcap")
		}
	} else if err := c.Capture.LiveConfig.Validate(); err != nil {
		return err
	}
	if c.Storage.BatchSize < 1 {
		return fmt.Errorf("storage.batch_size: must be at least 1")
	}
	if c.Storage.FlushInterval < 10*time.Millisecond {
		return fmt.Errorf("storage.flush_interval: must be at least 10ms")
	}
	if c.HTTP.Listen == "" {
		return fmt.Errorf("http.listen: must not be empty")
	}
	return c.Dataplane.Validate()
}

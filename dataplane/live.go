package dataplane

import (
	"fmt"
	"log/slog"
	"time"
)

// Capture engines.
const (
	EngineAFPacket = "afpacket" // AF_PACKET TPACKET_V3 ring
	EngineXDP      = "xdp"      // AF_XDP socket per rx queue
	EnginePcap     = "pcap"     // a capture file, see OpenPcap
)

// LiveConfig says how to capture from network interfaces. It maps to the
// capture.* config keys.
type LiveConfig struct {
	// Engine is afpacket or xdp.
	Engine string `yaml:"engine"`
	// Interfaces are the mirror ports; frames of all of them are merged
	// into one Source, read round-robin.
	Interfaces []string `yaml:"interfaces"`
	// PollTimeout is how long ReadFrame waits for a frame before it
	// returns ErrTimeout, so the pipeline can advance its clocks.
	PollTimeout time.Duration `yaml:"poll_timeout"`
	// Promiscuous puts the interfaces in promiscuous mode (afpacket; XDP
	// sees every frame anyway).
	Promiscuous bool `yaml:"promiscuous"`

	// AF_PACKET ring per interface: NumBlocks blocks of BlockSize bytes
	// (a power of two, at least a page), each handed over when full or
	// after BlockTimeout.
	BlockSize    int           `yaml:"block_size"`
	NumBlocks    int           `yaml:"num_blocks"`
	BlockTimeout time.Duration `yaml:"block_timeout"`
	// FanoutGroup, if non-zero, joins every socket to this PACKET_FANOUT
	// group in hash mode, so several tapflow processes (or pipelines)
	// opening the same interfaces share their load. The kernel hashes the
	// outer headers symmetrically: both directions of a plain flow meet,
	// but tunnelled mirror traffic is only split per tunnel flow.
	FanoutGroup uint16 `yaml:"fanout_group"`

	// XDPMode is auto (native, falling back to generic), native or generic.
	XDPMode string `yaml:"xdp_mode"`
	// XDPQueues is how many rx queues of each interface get an AF_XDP
	// socket (queues 0..n-1); 0 means all of them.
	XDPQueues int `yaml:"xdp_queues"`
	// XDPFrames is the number of UMEM frames per socket (a power of two);
	// the fill and rx rings have as many slots.
	XDPFrames int `yaml:"xdp_frames"`
	// XDPFrameSize is the UMEM frame size, 4096 or 2048. The kernel keeps
	// 256 bytes of each frame as XDP headroom, so a frame holds a packet of
	// up to XDPFrameSize-256 bytes (3840 or 1792). The kernel drops a
	// longer frame (AF_XDP has no snap length); the source counts it in
	// CaptureStats.Oversize and logs a warning. 4096 takes every frame of
	// a port with an MTU up to 3826 (3822 with a VLAN tag), which covers
	// the MTUs at which a driver without XDP multi-buffer runs the
	// program in native mode (veth: up to 3506).
	XDPFrameSize int `yaml:"xdp_frame_size"`
}

// DefaultLiveConfig returns the documented defaults: AF_PACKET with a 64 MiB
// ring per interface (about 0.5 s of 1.6 Mpps of small frames), AF_XDP with
// 65536 frames of 4 KiB per queue (256 MiB, 41 ms at 1.6 Mpps: an AF_XDP
// frame holds one packet whatever its size, and 16384 frames dropped ~1% at
// a veth sender's rate on a loaded 2-core machine; lower xdp_frames on NICs
// with many queues).
func DefaultLiveConfig() LiveConfig {
	return LiveConfig{
		Engine:       EngineAFPacket,
		PollTimeout:  100 * time.Millisecond,
		Promiscuous:  true,
		BlockSize:    1 << 20,
		NumBlocks:    64,
		BlockTimeout: 10 * time.Millisecond,
		XDPMode:      "auto",
		XDPFrames:    65536,
		XDPFrameSize: 4096,
	}
}

// Validate reports the first invalid setting, naming its key.
func (c LiveConfig) Validate() error {
	switch c.Engine {
	case EngineAFPacket, EngineXDP:
	default:
		return fmt.Errorf("capture.engine: must be afpacket or xdp for live capture, got %q", c.Engine)
	}
	if len(c.Interfaces) == 0 {
		return fmt.Errorf("capture.interfaces: at least one interface is needed for engine %s", c.Engine)
	}
	switch {
	case c.PollTimeout < time.Millisecond:
		return fmt.Errorf("capture.poll_timeout: must be at least 1ms, got %s", c.PollTimeout)
	case c.BlockSize < 4096 || c.BlockSize&(c.BlockSize-1) != 0:
		return fmt.Errorf("capture.block_size: must be a power of two of at least 4096, got %d", c.BlockSize)
	case c.NumBlocks < 2:
		return fmt.Errorf("capture.num_blocks: must be at least 2, got %d", c.NumBlocks)
	case c.BlockTimeout < time.Millisecond:
		return fmt.Errorf("capture.block_timeout: must be at least 1ms, got %s", c.BlockTimeout)
	case c.XDPMode != "auto" && c.XDPMode != "native" && c.XDPMode != "generic":
		return fmt.Errorf("capture.xdp_mode: must be auto, native or generic, got %q", c.XDPMode)
	case c.XDPQueues < 0:
		return fmt.Errorf("capture.xdp_queues: must not be negative, got %d", c.XDPQueues)
	case c.XDPFrames < 64 || c.XDPFrames&(c.XDPFrames-1) != 0:
		return fmt.Errorf("capture.xdp_frames: must be a power of two of at least 64, got %d", c.XDPFrames)
	case c.XDPFrameSize != 2048 && c.XDPFrameSize != 4096:
		return fmt.Errorf("capture.xdp_frame_size: must be 4096 or 2048, got %d", c.XDPFrameSize)
	}
	return nil
}

// CaptureStats are a live source's counters, summed over its sockets.
type CaptureStats struct {
	// Received is the number of frames the source handed to the pipeline.
	Received uint64
	// KernelPackets is what the kernel counted for the sockets
	// (AF_PACKET: frames received incl. dropped; AF_XDP: same as Received).
	KernelPackets uint64
	// Drops are frames the kernel took for the sockets but dropped: no room
	// in a ring (AF_PACKET tp_drops; AF_XDP rx_ring_full, and rx_dropped
	// for an empty fill ring) or, AF_XDP only, longer than a UMEM frame
	// holds (Oversize). AF_XDP: rx_dropped + rx_ring_full.
	Drops uint64
	// Oversize are the frames of Drops that were longer than a capture
	// buffer holds: AF_XDP frames over XDPFrameSize-256 bytes (the
	// kernel's rx_dropped minus rx_fill_ring_empty_descs, the only other
	// cause of rx_dropped in copy mode; always 0 in zero-copy mode, where
	// the driver sizes frames to the UMEM). 0 for AF_PACKET, whose ring
	// blocks hold any frame.
	Oversize uint64
	// QueueFreezes counts AF_PACKET ring freezes (all blocks in use).
	QueueFreezes uint64
	// XDPMode is "native" or "generic" for AF_XDP, "" otherwise.
	XDPMode string
}

// LiveSource is a Source reading network interfaces.
type LiveSource interface {
	Source
	// CaptureStats is safe to call from any goroutine, also while
	// ReadFrame runs.
	CaptureStats() (CaptureStats, error)
}

// OpenLive opens the capture engine cfg names on cfg.Interfaces. Close
// releases everything it set up: sockets, rings and, for AF_XDP, the XDP
// program on each interface. On a platform without the engine it returns
// ErrNotSupported.
func OpenLive(cfg LiveConfig, logger *slog.Logger) (LiveSource, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "capture", "engine", cfg.Engine)
	if cfg.Engine == EngineXDP {
		x, err := openXDP(cfg, logger)
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return x, nil
	}
	a, err := openAFPacket(cfg, logger)
	if err != nil {
		return nil, err
	}
	return a, nil
}

package dataplane

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/asavie/xdp"
	"github.com/cilium/ebpf"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// xdpMu serializes OpenXDP calls: asavie/xdp reads its attach and bind flags
// from package globals.
var xdpMu sync.Mutex

// xdpIface is one interface with the redirect program attached.
type xdpIface struct {
	name     string
	index    int
	prog     *xdp.Program
	flags    uint32 // XDP_FLAGS_DRV_MODE or XDP_FLAGS_SKB_MODE it was attached with
	queues   []int
	detached bool
}

// xdpSocket is one AF_XDP socket on one rx queue.
type xdpSocket struct {
	xsk   *xdp.Socket
	fd    int // xsk's, kept for CaptureStats, which must not touch xsk's rings
	iface string
	link  uint32
	batch []xdp.Desc // received, being handed out; aliases the socket's buffer
	i     int
	ts    int64 // µs, when batch was taken: AF_XDP carries no timestamp
}

// XDP reads one or more interfaces through AF_XDP sockets, one per rx queue,
// fed by asavie/xdp's redirect program. It reads round-robin by batch and
// waits for all sockets in a single poll(2).
//
// A frame longer than a UMEM frame holds (maxLen) never reaches a socket:
// the kernel drops it and counts it in the socket's rx_dropped. CaptureStats
// reports those as Oversize, the reader logs a warning (at most every
// xdpDropCheck) while they keep coming, and Close logs the totals.
type XDP struct {
	ifaces   []*xdpIface
	socks    []*xdpSocket
	pollfds  []unix.PollFd
	timeout  int
	next     int
	n        uint64
	received atomic.Uint64
	mode     string
	maxLen   int // longest frame a UMEM frame holds
	log      *slog.Logger

	// Drop warnings, reader goroutine only.
	nextCheck int64 // µs
	warned    CaptureStats
	opened    bool // openXDP succeeded: Close logs the counters

	// statsMu guards socks against Close while CaptureStats reads their
	// counters, and final, the counters Close read last.
	statsMu sync.Mutex
	final   *CaptureStats
}

// xdpHeadroom is what the kernel reserves at the start of every UMEM frame
// (XDP_PACKET_HEADROOM; asavie/xdp registers its UMEM with no headroom of
// its own), so a frame holds XDPFrameSize-xdpHeadroom bytes of packet.
const xdpHeadroom = 256

// xdpBatch caps the frames taken off an rx ring at once. Frames go back to
// the fill ring only when their whole batch was handed out, so a reader that
// fell behind would otherwise take the entire backlog as one batch and leave
// the kernel no free frame until it had worked through all of it.
const xdpBatch = 256

// xdpDropCheck is how often the reader looks at the kernel's drop counters
// to warn about new drops.
const xdpDropCheck = 10 * time.Second

func xdpModeName(flags uint32) string {
	if flags == unix.XDP_FLAGS_DRV_MODE {
		return "native"
	}
	return "generic"
}

func openXDP(cfg LiveConfig, logger *slog.Logger) (_ *XDP, err error) {
	xdpMu.Lock()
	defer xdpMu.Unlock()
	x := &XDP{timeout: int(cfg.PollTimeout.Milliseconds()), maxLen: cfg.XDPFrameSize - xdpHeadroom, log: logger}
	defer func() {
		if err != nil {
			err = errors.Join(err, x.Close())
		}
	}()
	opts := xdp.SocketOptions{
		NumFrames:              cfg.XDPFrames,
		FrameSize:              cfg.XDPFrameSize,
		FillRingNumDescs:       cfg.XDPFrames,
		CompletionRingNumDescs: 64,
		RxRingNumDescs:         cfg.XDPFrames,
		TxRingNumDescs:         0,
	}
	for _, name := range cfg.Interfaces {
		ifc, err := net.InterfaceByName(name)
		if err != nil {
			return nil, fmt.Errorf("xdp %s: %w", name, err)
		}
		queues := rxQueues(name)
		if cfg.XDPQueues > 0 {
			queues = min(queues, cfg.XDPQueues)
		}
		prog, err := xdp.NewProgram(queues)
		if err != nil {
			return nil, fmt.Errorf("xdp %s: loading program: %w", name, err)
		}
		xi := &xdpIface{name: name, index: ifc.Index, prog: prog}
		x.ifaces = append(x.ifaces, xi)
		if err := xi.attach(cfg.XDPMode, logger); err != nil {
			return nil, err
		}
		x.mode = xdpModeName(xi.flags)
		for q := range queues {
			xsk, err := xdp.NewSocket(ifc.Index, q, &opts)
			if err != nil {
				return nil, fmt.Errorf("xdp %s queue %d: %w", name, q, err)
			}
			s := &xdpSocket{xsk: xsk, fd: xsk.FD(), iface: name, link: ifaceLinkType(name)}
			x.socks = append(x.socks, s)
			x.pollfds = append(x.pollfds, unix.PollFd{Fd: int32(xsk.FD()), Events: unix.POLLIN})
			if err := prog.Register(q, xsk.FD()); err != nil {
				return nil, fmt.Errorf("xdp %s queue %d: %w", name, q, err)
			}
			xi.queues = append(xi.queues, q)
			xsk.Fill(xsk.GetDescs(cfg.XDPFrames))
		}
		logger.Info("capturing", "iface", name, "xdp_mode", xdpModeName(xi.flags), "queues", queues,
			"umem_bytes", cfg.XDPFrames*cfg.XDPFrameSize, "max_frame_bytes", x.maxLen)
	}
	x.nextCheck = time.Now().Add(xdpDropCheck).UnixMicro()
	x.opened = true
	return x, nil
}

// xdpProgramName is the name asavie/xdp gives its redirect program.
const xdpProgramName = "xsk_ebpf"

// xdpProgName is the name of the loaded program id, "" if unknown.
func xdpProgName(id uint32) string {
	p, err := ebpf.NewProgramFromID(ebpf.ProgramID(id))
	if err != nil {
		return ""
	}
	defer p.Close()
	info, err := p.Info()
	if err != nil {
		return ""
	}
	return info.Name
}

// rxQueues counts /sys/class/net/IFACE/queues/rx-*; 1 if unknown.
func rxQueues(name string) int {
	ents, err := os.ReadDir("/sys/class/net/" + name + "/queues")
	if err != nil {
		return 1
	}
	n := 0
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "rx-") {
			n++
		}
	}
	return max(n, 1)
}

// attach puts the redirect program on the interface, native mode first in
// auto mode. It never replaces a program already there.
func (xi *xdpIface) attach(mode string, log *slog.Logger) error {
	link, err := netlink.LinkByIndex(xi.index)
	if err != nil {
		return fmt.Errorf("xdp %s: %w", xi.name, err)
	}
	if a := link.Attrs().Xdp; a != nil && a.Attached {
		name := xdpProgName(a.ProgId)
		if name != xdpProgramName {
			return fmt.Errorf("xdp %s: an XDP program (id %d, %q) is already attached; not replacing it", xi.name, a.ProgId, name)
		}
		// Our redirect program, left by a tapflow that died without
		// Close (SIGKILL, crash): nobody reads its sockets any more.
		log.Warn("removing a stale AF_XDP redirect program", "iface", xi.name, "prog_id", a.ProgId)
		for _, f := range []uint32{unix.XDP_FLAGS_SKB_MODE, unix.XDP_FLAGS_DRV_MODE} {
			_ = netlink.LinkSetXdpFdWithFlags(link, -1, int(f))
		}
		if link, err = netlink.LinkByIndex(xi.index); err != nil {
			return fmt.Errorf("xdp %s: %w", xi.name, err)
		}
		if a := link.Attrs().Xdp; a != nil && a.Attached {
			return fmt.Errorf("xdp %s: could not remove the stale program (id %d)", xi.name, a.ProgId)
		}
	}
	var tries []uint32
	switch mode {
	case "native":
		tries = []uint32{unix.XDP_FLAGS_DRV_MODE}
	case "generic":
		tries = []uint32{unix.XDP_FLAGS_SKB_MODE}
	default:
		tries = []uint32{unix.XDP_FLAGS_DRV_MODE, unix.XDP_FLAGS_SKB_MODE}
	}
	var errs []error
	for _, f := range tries {
		err := netlink.LinkSetXdpFdWithFlags(link, xi.prog.Program.FD(), int(f|unix.XDP_FLAGS_UPDATE_IF_NOEXIST))
		if err == nil {
			xi.flags = f
			return nil
		}
		errs = append(errs, fmt.Errorf("%s mode: %w", xdpModeName(f), err))
	}
	return fmt.Errorf("xdp %s: attaching program: %w", xi.name, errors.Join(errs...))
}

// detach takes the program off the interface with the mode flag it was
// attached with (a flagless detach would miss a generic-mode program) and
// waits until the kernel reports none.
func (xi *xdpIface) detach() error {
	if xi.flags == 0 || xi.detached {
		return nil
	}
	link, err := netlink.LinkByIndex(xi.index)
	if err != nil {
		return fmt.Errorf("xdp %s detach: %w", xi.name, err)
	}
	if err := netlink.LinkSetXdpFdWithFlags(link, -1, int(xi.flags)); err != nil {
		return fmt.Errorf("xdp %s detach: %w", xi.name, err)
	}
	for range 50 {
		link, err = netlink.LinkByIndex(xi.index)
		if err != nil {
			return fmt.Errorf("xdp %s detach: %w", xi.name, err)
		}
		if a := link.Attrs().Xdp; a == nil || !a.Attached {
			xi.detached = true
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("xdp %s detach: program still attached after 500ms", xi.name)
}

// ReadFrame returns the next frame of any socket. The data lies in the
// socket's UMEM and is valid until the next call, which gives its frame back
// to the kernel.
func (x *XDP) ReadFrame() ([]byte, FrameInfo, error) {
	n := len(x.socks)
	for {
		for i := range n {
			k := (x.next + i) % n
			s := x.socks[k]
			if s.i < len(s.batch) {
				d := s.batch[s.i]
				s.i++
				x.next = k
				x.n++
				return s.xsk.GetFrame(d), FrameInfo{Timestamp: s.ts, WireLen: d.Len, LinkType: s.link}, nil
			}
			if len(s.batch) > 0 {
				// Every frame of the batch was handed out and the caller is
				// done with the last: give them back to the fill ring.
				s.xsk.Fill(s.batch)
				s.batch = s.batch[:0]
				x.received.Store(x.n)
			}
			if r := s.xsk.NumReceived(); r > 0 {
				s.batch = s.xsk.Receive(min(r, xdpBatch))
				s.i = 0
				s.ts = time.Now().UnixMicro()
				x.next = k
				if s.ts >= x.nextCheck {
					x.checkDrops(s.ts)
				}
				break
			}
		}
		if s := x.socks[x.next]; s.i < len(s.batch) {
			continue
		}
		for i := range x.pollfds {
			x.pollfds[i].Revents = 0
		}
		nr, err := unix.Poll(x.pollfds, x.timeout)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return nil, FrameInfo{}, fmt.Errorf("xdp poll: %w", err)
		}
		if nr == 0 {
			if now := time.Now().UnixMicro(); now >= x.nextCheck {
				x.checkDrops(now)
			}
			return nil, FrameInfo{}, ErrTimeout
		}
	}
}

// xdpStats reads a socket's kernel counters (getsockopt XDP_STATISTICS).
// It does not touch the rings, so any goroutine may call it.
func xdpStats(fd int) (unix.XDPStatistics, error) {
	var st unix.XDPStatistics
	size := uint32(unsafe.Sizeof(st))
	_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_XDP, unix.XDP_STATISTICS,
		uintptr(unsafe.Pointer(&st)), uintptr(unsafe.Pointer(&size)), 0)
	if errno != 0 {
		return st, errno
	}
	return st, nil
}

// xdpOversize is how many frames the socket's kernel counters say were
// longer than a UMEM frame. In copy mode the kernel bumps rx_dropped for
// exactly two reasons: a frame over the UMEM frame size, and no free frame
// in the fill ring, which also bumps rx_fill_ring_empty_descs. In zero-copy
// mode rx_dropped stays 0 (the driver receives into UMEM frames) while the
// driver's own refills may bump rx_fill_ring_empty_descs, hence the floor.
func xdpOversize(k unix.XDPStatistics) uint64 {
	if k.Rx_dropped <= k.Rx_fill_ring_empty_descs {
		return 0
	}
	return k.Rx_dropped - k.Rx_fill_ring_empty_descs
}

// CaptureStats sums the sockets' counters. After Close it returns the
// counters Close read last.
func (x *XDP) CaptureStats() (CaptureStats, error) {
	x.statsMu.Lock()
	defer x.statsMu.Unlock()
	if x.final != nil {
		return *x.final, nil
	}
	return x.captureStats()
}

// captureStats reads the counters; statsMu is held or no other goroutine
// can close the sockets.
func (x *XDP) captureStats() (CaptureStats, error) {
	st := CaptureStats{Received: x.received.Load(), XDPMode: x.mode}
	st.KernelPackets = st.Received
	var errs []error
	for _, s := range x.socks {
		k, err := xdpStats(s.fd)
		if err != nil {
			errs = append(errs, fmt.Errorf("xdp %s stats: %w", s.iface, err))
			continue
		}
		st.Drops += k.Rx_dropped + k.Rx_ring_full
		st.Oversize += xdpOversize(k)
	}
	return st, errors.Join(errs...)
}

// checkDrops warns when the kernel dropped frames since the last warning.
// The reader calls it at most every xdpDropCheck, never per frame.
func (x *XDP) checkDrops(now int64) {
	x.nextCheck = now + xdpDropCheck.Microseconds()
	st, err := x.captureStats()
	if err != nil {
		x.log.Warn("reading AF_XDP socket statistics", "err", err)
		return
	}
	if st.Oversize > x.warned.Oversize {
		x.log.Warn("AF_XDP dropped frames longer than a UMEM frame holds (capture.xdp_frame_size minus 256); engine afpacket takes any size",
			"oversize", st.Oversize-x.warned.Oversize, "oversize_total", st.Oversize, "max_frame_bytes", x.maxLen)
	}
	if ring, warned := st.Drops-st.Oversize, x.warned.Drops-x.warned.Oversize; ring > warned {
		x.log.Warn("AF_XDP dropped frames: the reader fell behind (no free UMEM frame, or the rx ring was full)",
			"drops", ring-warned, "drops_total", ring)
	}
	x.warned = st
}

// Close detaches the program from every interface, then closes the sockets
// and the program. No XDP program stays on an interface. The sockets' last
// counters stay readable through CaptureStats and are logged.
func (x *XDP) Close() error {
	var errs []error
	for _, xi := range x.ifaces {
		errs = append(errs, xi.detach())
	}
	x.statsMu.Lock()
	if x.final == nil && x.opened {
		x.received.Store(x.n) // the reader has returned: count its last batch too
		st, err := x.captureStats()
		errs = append(errs, err)
		x.final = &st
		x.log.Info("capture stats", "received", st.Received, "drops", st.Drops, "oversize", st.Oversize,
			"max_frame_bytes", x.maxLen, "xdp_mode", st.XDPMode)
	}
	for _, s := range x.socks {
		errs = append(errs, s.xsk.Close())
	}
	x.socks = nil
	x.statsMu.Unlock()
	for _, xi := range x.ifaces {
		errs = append(errs, xi.prog.Close())
	}
	x.ifaces = nil
	return errors.Join(errs...)
}

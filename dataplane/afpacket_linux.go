package dataplane

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/tapflow/tapflow/tap"
)

// AF_PACKET TPACKET_V3 ring (Documentation/networking/packet_mmap.rst).
//
// The ring is NumBlocks blocks; the kernel fills a block with packets and
// hands it to user space by setting TP_STATUS_USER in the block header, user
// space gives it back by writing TP_STATUS_KERNEL. A block starts with
//
//	struct tpacket_block_desc { u32 version; u32 offset_to_priv;
//	  struct tpacket_hdr_v1 { u32 block_status; u32 num_pkts;
//	    u32 offset_to_first_pkt; u32 blk_len; ... } }
//
// and each packet with
//
//	struct tpacket3_hdr { u32 tp_next_offset, tp_sec, tp_nsec, tp_snaplen,
//	  tp_len, tp_status; u16 tp_mac, tp_net;
//	  struct tpacket_hdr_variant1 { u32 tp_rxhash, tp_vlan_tci;
//	    u16 tp_vlan_tpid, tp_padding; } hv1; u8 tp_padding[8]; }
//
// gopacket's afpacket reader does the same walk but allocates for every frame
// whose VLAN tag it restores and hides its socket, so several interfaces
// cannot share one poll(2); this reader does neither.
const (
	blkStatus     = 8  // tpacket_block_desc.hdr.block_status
	blkNumPkts    = 12 // .num_pkts
	blkFirstPkt   = 16 // .offset_to_first_pkt
	pktNextOffset = 0
	pktSec        = 4
	pktNsec       = 8
	pktSnaplen    = 12
	pktLen        = 16
	pktStatus     = 20
	pktMac        = 24
	pktVLANTCI    = 32
	pktVLANTPID   = 36

	// vlanReserve is the headroom PACKET_RESERVE leaves before every
	// frame, where a stripped 802.1Q tag is put back in place.
	vlanReserve = 4
)

// afSocket is one interface's AF_PACKET socket and ring. Only the reading
// goroutine touches the ring fields.
type afSocket struct {
	fd      int
	iface   string
	link    uint32
	ring    []byte
	bsize   int
	nblocks int

	cur    int    // block being read, or next to read
	owned  bool   // block cur is ours (TP_STATUS_USER seen)
	left   uint32 // packets not yet returned from block cur
	off    int    // ring offset of the next packet in block cur
	stats  unix.TpacketStatsV3
	statMu sync.Mutex
}

// AFPacket reads one or more interfaces through AF_PACKET TPACKET_V3 rings,
// round-robin by block, waiting for all of them in a single poll(2).
type AFPacket struct {
	socks    []*afSocket
	pollfds  []unix.PollFd
	timeout  int           // ms
	next     int           // socket to read first
	n        uint64        // frames returned, reader-owned
	received atomic.Uint64 // n, published once per block
	log      *slog.Logger
}

func openAFPacket(cfg LiveConfig, logger *slog.Logger) (*AFPacket, error) {
	a := &AFPacket{timeout: int(cfg.PollTimeout.Milliseconds()), log: logger}
	for _, name := range cfg.Interfaces {
		s, err := openAFSocket(name, cfg)
		if err != nil {
			return nil, errors.Join(err, a.Close())
		}
		a.socks = append(a.socks, s)
		a.pollfds = append(a.pollfds, unix.PollFd{Fd: int32(s.fd), Events: unix.POLLIN})
		logger.Info("capturing", "iface", name, "ring_bytes", len(s.ring), "fanout_group", cfg.FanoutGroup)
	}
	return a, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func openAFSocket(name string, cfg LiveConfig) (_ *afSocket, err error) {
	ifc, err := net.InterfaceByName(name)
	if err != nil {
		return nil, fmt.Errorf("afpacket %s: %w", name, err)
	}
	// Protocol 0: nothing is queued until bind, after the ring is set up.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("afpacket %s: socket: %w", name, err)
	}
	s := &afSocket{fd: fd, iface: name, link: ifaceLinkType(name), bsize: cfg.BlockSize, nblocks: cfg.NumBlocks}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return nil, fmt.Errorf("afpacket %s: TPACKET_V3: %w", name, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_RESERVE, vlanReserve); err != nil {
		return nil, fmt.Errorf("afpacket %s: PACKET_RESERVE: %w", name, err)
	}
	const frameSize = 2048 // V3 packs packets of any size into a block; the frame size only has to divide it
	req := unix.TpacketReq3{
		Block_size:     uint32(cfg.BlockSize),
		Block_nr:       uint32(cfg.NumBlocks),
		Frame_size:     frameSize,
		Frame_nr:       uint32(cfg.BlockSize / frameSize * cfg.NumBlocks),
		Retire_blk_tov: uint32(cfg.BlockTimeout.Milliseconds()),
	}
	if err := unix.SetsockoptTpacketReq3(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return nil, fmt.Errorf("afpacket %s: PACKET_RX_RING: %w", name, err)
	}
	s.ring, err = unix.Mmap(fd, 0, cfg.BlockSize*cfg.NumBlocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return nil, fmt.Errorf("afpacket %s: mmap ring: %w", name, err)
	}
	if cfg.Promiscuous {
		mreq := unix.PacketMreq{Ifindex: int32(ifc.Index), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
			return nil, fmt.Errorf("afpacket %s: promiscuous: %w", name, err)
		}
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifc.Index}); err != nil {
		return nil, fmt.Errorf("afpacket %s: bind: %w", name, err)
	}
	if cfg.FanoutGroup != 0 {
		arg := int(cfg.FanoutGroup) | (unix.PACKET_FANOUT_HASH|unix.PACKET_FANOUT_FLAG_DEFRAG)<<16
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_FANOUT, arg); err != nil {
			return nil, fmt.Errorf("afpacket %s: fanout group %d: %w", name, cfg.FanoutGroup, err)
		}
	}
	return s, nil
}

// ifaceLinkType maps the interface's ARPHRD type to a pcap link type:
// Ethernet framing for Ethernet and loopback, raw IP for tunnels and tun.
func ifaceLinkType(name string) uint32 {
	b, err := os.ReadFile("/sys/class/net/" + name + "/type")
	if err != nil {
		return tap.LinkEthernet
	}
	switch t, _ := strconv.Atoi(strings.TrimSpace(string(b))); t {
	case unix.ARPHRD_ETHER, unix.ARPHRD_LOOPBACK:
		return tap.LinkEthernet
	case unix.ARPHRD_NONE, unix.ARPHRD_TUNNEL, unix.ARPHRD_TUNNEL6, unix.ARPHRD_SIT, unix.ARPHRD_IPGRE:
		return tap.LinkRaw
	case unix.ARPHRD_PPP:
		return tap.LinkRaw
	}
	return tap.LinkEthernet
}

func (s *afSocket) u32(off int) uint32 { return binary.NativeEndian.Uint32(s.ring[off:]) }
func (s *afSocket) u16(off int) uint16 { return binary.NativeEndian.Uint16(s.ring[off:]) }

// statusWord is block cur's block_status, shared with the kernel.
func (s *afSocket) statusWord() *uint32 {
	return (*uint32)(unsafe.Pointer(&s.ring[s.cur*s.bsize+blkStatus]))
}

// nextFrame returns the next frame of this socket's ring, or ok false when
// the current block is done (it is then given back) or the next block is
// still the kernel's.
func (s *afSocket) nextFrame() (data []byte, ci FrameInfo, ok bool) {
	if s.owned && s.left == 0 {
		atomic.StoreUint32(s.statusWord(), unix.TP_STATUS_KERNEL)
		s.owned = false
		s.cur = (s.cur + 1) % s.nblocks
		return nil, ci, false
	}
	if !s.owned {
		if atomic.LoadUint32(s.statusWord())&unix.TP_STATUS_USER == 0 {
			return nil, ci, false
		}
		base := s.cur * s.bsize
		s.owned = true
		s.left = s.u32(base + blkNumPkts)
		s.off = base + int(s.u32(base+blkFirstPkt))
		if s.left == 0 {
			return s.nextFrame()
		}
	}
	h := s.off
	s.left--
	if next := s.u32(h + pktNextOffset); next != 0 {
		s.off = h + int(next)
	}
	mac := h + int(s.u16(h+pktMac))
	snap := int(s.u32(h + pktSnaplen))
	wire := s.u32(h + pktLen)
	status := s.u32(h + pktStatus)
	start, end := mac, mac+snap
	if status&unix.TP_STATUS_VLAN_VALID != 0 && s.link == tap.LinkEthernet && snap >= 12 {
		// Put the tag the NIC or the kernel took off back between the MAC
		// addresses, in the headroom PACKET_RESERVE left before the frame.
		tpid := uint16(0x8100)
		if status&unix.TP_STATUS_VLAN_TPID_VALID != 0 {
			tpid = s.u16(h + pktVLANTPID)
		}
		tci := uint16(s.u32(h + pktVLANTCI))
		start = mac - vlanReserve
		copy(s.ring[start:start+12], s.ring[mac:mac+12])
		binary.BigEndian.PutUint16(s.ring[start+12:], tpid)
		binary.BigEndian.PutUint16(s.ring[start+14:], tci)
		wire += vlanReserve
	}
	ci = FrameInfo{
		Timestamp: int64(s.u32(h+pktSec))*1_000_000 + int64(s.u32(h+pktNsec))/1000,
		WireLen:   max(wire, uint32(end-start)),
		LinkType:  s.link,
	}
	return s.ring[start:end:end], ci, true
}

// ReadFrame returns the next frame of any interface. The data lies in the
// kernel ring and is valid until the next call.
func (a *AFPacket) ReadFrame() ([]byte, FrameInfo, error) {
	n := len(a.socks)
	for {
		for i := range n {
			k := (a.next + i) % n
			data, ci, ok := a.socks[k].nextFrame()
			if ok {
				a.next = k
				a.n++
				return data, ci, nil
			}
			// A block was given back or none is ready: publish the count
			// once per block, not per frame.
			a.received.Store(a.n)
		}
		// Every socket's next block is the kernel's: one more look after a
		// block was given back, then wait.
		ready := false
		for _, s := range a.socks {
			if atomic.LoadUint32(s.statusWord())&unix.TP_STATUS_USER != 0 {
				ready = true
				break
			}
		}
		if ready {
			continue
		}
		a.next = (a.next + 1) % n
		for i := range a.pollfds {
			a.pollfds[i].Revents = 0
		}
		nr, err := unix.Poll(a.pollfds, a.timeout)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return nil, FrameInfo{}, fmt.Errorf("afpacket poll: %w", err)
		}
		if nr == 0 {
			return nil, FrameInfo{}, ErrTimeout
		}
		for i := range a.pollfds {
			if a.pollfds[i].Revents&(unix.POLLERR|unix.POLLNVAL) != 0 {
				return nil, FrameInfo{}, fmt.Errorf("afpacket poll %s: revents %#x", a.socks[i].iface, a.pollfds[i].Revents)
			}
		}
	}
}

// CaptureStats sums the kernel's counters of every socket.
func (a *AFPacket) CaptureStats() (CaptureStats, error) {
	st := CaptureStats{Received: a.received.Load()}
	var errs []error
	for _, s := range a.socks {
		s.statMu.Lock()
		// PACKET_STATISTICS resets the kernel's counters: accumulate.
		v, err := unix.GetsockoptTpacketStatsV3(s.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
		if err == nil {
			s.stats.Packets += v.Packets
			s.stats.Drops += v.Drops
			s.stats.Freeze_q_cnt += v.Freeze_q_cnt
		} else {
			errs = append(errs, fmt.Errorf("afpacket %s stats: %w", s.iface, err))
		}
		st.KernelPackets += uint64(s.stats.Packets)
		st.Drops += uint64(s.stats.Drops)
		st.QueueFreezes += uint64(s.stats.Freeze_q_cnt)
		s.statMu.Unlock()
	}
	return st, errors.Join(errs...)
}

// Close releases every socket and ring.
func (a *AFPacket) Close() error {
	var errs []error
	for _, s := range a.socks {
		errs = append(errs, s.close())
	}
	a.socks = nil
	return errors.Join(errs...)
}

func (s *afSocket) close() error {
	var errs []error
	if s.ring != nil {
		errs = append(errs, unix.Munmap(s.ring))
		s.ring = nil
	}
	if s.fd >= 0 {
		errs = append(errs, unix.Close(s.fd))
		s.fd = -1
	}
	return errors.Join(errs...)
}

package dataplane

import "errors"

// Source yields captured frames. ReadFrame's data is valid until the next
// call. It returns io.EOF at the end of a file and ErrTimeout when a live
// source had nothing within its poll interval.
type Source interface {
	ReadFrame() (data []byte, ci FrameInfo, err error)
	Close() error
}

// FrameInfo describes one frame.
type FrameInfo struct {
	Timestamp int64  // µs since the Unix epoch
	WireLen   uint32 // length on the wire
	LinkType  uint32 // pcap LINKTYPE_*
}

// ErrTimeout is returned by live sources when no frame arrived in time.
var ErrTimeout = errors.New("dataplane: no frame before poll timeout")

// ErrNotSupported is returned for capture engines this platform lacks.
var ErrNotSupported = errors.New("dataplane: not supported on this platform")

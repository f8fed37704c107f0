package dataplane

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/tap"
)

// Collector exports a pipeline's counters as Prometheus metrics. It reads
// the counters the reader and workers publish once per batch, so a scrape
// never touches the hot path.
type Collector struct {
	p *Pipeline

	received, bytes, decoded, dropped, panics, dedup   *prometheus.Desc
	fragMatched, fragOrphans                           *prometheus.Desc
	flowsActive, flowsCreated, flowsEvicted, flowsRpts *prometheus.Desc
	flowPackets                                        *prometheus.Desc
	l7Flows, l7Packets, l7Logs, l7Outcome              *prometheus.Desc
}

// NewCollector returns a collector for p; register it with a Registerer.
func NewCollector(p *Pipeline) *Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &Collector{
		p:            p,
		received:     d("tapflow_dataplane_packets_received_total", "Frames read from the capture source."),
		bytes:        d("tapflow_dataplane_bytes_received_total", "Bytes on the wire of the frames read."),
		decoded:      d("tapflow_dataplane_packets_decoded_total", "Frames decoded to an IP packet (duplicates included)."),
		dedup:        d("tapflow_dataplane_dedup_dropped_total", "Decoded packets dropped as a copy of a packet seen within the dedup window."),
		fragMatched:  d("tapflow_dataplane_fragments_matched_total", "Non-first IP fragments counted in their datagram's flow."),
		fragOrphans:  d("tapflow_dataplane_fragments_orphan_total", "Non-first IP fragments whose first fragment was not seen (counted in a port-less flow)."),
		dropped:      d("tapflow_dataplane_packets_dropped_total", "Frames not analyzed, by reason.", "reason"),
		panics:       d("tapflow_dataplane_panics_total", "Frames that panicked the decoder or flow table and were skipped."),
		flowsActive:  d("tapflow_flowtable_flows_active", "Flows currently held in the flow tables."),
		flowsCreated: d("tapflow_flowtable_flows_created_total", "Flows created."),
		flowsEvicted: d("tapflow_flowtable_flows_evicted_total", "Flows ended early because a flow table was full."),
		flowsRpts:    d("tapflow_flowtable_reports_total", "Flow records emitted (including forced minute reports)."),
		l7Flows:      d("tapflow_dissectors_flows_total", "Flows offered to the L7 dissectors, by result: identified or given_up (no dissector claimed them).", "result"),
		l7Packets:    d("tapflow_dissectors_packets_total", "Payload packets seen by the L7 stage, by what happened: parsed, parse_error, or seen (the total).", "result"),
		l7Logs:       d("tapflow_dissectors_logs_total", "l7_flow_log rows emitted, by l7_protocol.", "l7_protocol"),
		l7Outcome:    d("tapflow_dissectors_requests_total", "Request/response pairing outcomes: timeout (no response), orphan_response, in_flight_full, pending_full.", "outcome"),
		flowPackets:  d("tapflow_flowtable_packets_total", "Packets accounted to a flow."),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.received, c.bytes, c.decoded, c.dedup, c.fragMatched, c.fragOrphans, c.dropped, c.panics,
		c.flowsActive, c.flowsCreated, c.flowsEvicted, c.flowsRpts, c.flowPackets, c.l7Flows, c.l7Packets, c.l7Logs, c.l7Outcome} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.p.Stats()
	counter := func(d *prometheus.Desc, v uint64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), l...)
	}
	counter(c.received, s.Received)
	counter(c.bytes, s.Bytes)
	counter(c.decoded, s.Decoded)
	counter(c.dedup, s.DedupDropped)
	counter(c.fragMatched, s.FragmentsMatched)
	counter(c.fragOrphans, s.FragmentsOrphan)
	for i, n := range s.Dropped {
		counter(c.dropped, n, tap.ReasonNames[i])
	}
	counter(c.panics, s.Panics)
	ch <- prometheus.MustNewConstMetric(c.flowsActive, prometheus.GaugeValue, float64(s.Flows.Active))
	counter(c.flowsCreated, s.Flows.Created)
	counter(c.flowsEvicted, s.Flows.Evicted)
	counter(c.flowsRpts, s.Flows.Reports)
	counter(c.flowPackets, s.Flows.Packets)
	l := &s.L7
	counter(c.l7Flows, l.Identified, "identified")
	counter(c.l7Flows, l.GivenUp, "given_up")
	counter(c.l7Packets, l.Payloads, "seen")
	counter(c.l7Packets, l.Parsed, "parsed")
	counter(c.l7Packets, l.ParseErrors, "parse_error")
	counter(c.l7Outcome, l.Timeouts, "timeout")
	counter(c.l7Outcome, l.Orphans, "orphan_response")
	counter(c.l7Outcome, l.InFlightFull, "in_flight_full")
	counter(c.l7Outcome, l.PendingFull, "pending_full")
	for p, n := range l.PerProtocol {
		if n > 0 {
			counter(c.l7Logs, n, dissectors.Protocol(p).String())
		}
	}
}

// CaptureCollector exports a live source's kernel counters. Scraping calls
// CaptureStats, which only reads socket statistics, never the rings.
type CaptureCollector struct {
	src                                    LiveSource
	received, kernel, drops, freezes, mode *prometheus.Desc
	oversize                               *prometheus.Desc
}

// NewCaptureCollector returns a collector for src; register it with a
// Registerer next to the pipeline's Collector.
func NewCaptureCollector(src LiveSource) *CaptureCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &CaptureCollector{
		src:      src,
		received: d("tapflow_capture_packets_received_total", "Frames the capture source handed to the pipeline."),
		kernel:   d("tapflow_capture_kernel_packets_total", "Frames the kernel counted for the capture sockets, dropped ones included."),
		drops:    d("tapflow_capture_kernel_drops_total", "Frames the kernel dropped before tapflow read them: a full capture ring (AF_PACKET tp_drops, AF_XDP rx_ring_full and fill ring empty) or, on AF_XDP, a frame too long for a UMEM frame (also in tapflow_capture_oversize_drops_total)."),
		oversize: d("tapflow_capture_oversize_drops_total", "AF_XDP frames dropped by the kernel because they exceed capture.xdp_frame_size - 256 bytes."),
		freezes:  d("tapflow_capture_queue_freezes_total", "AF_PACKET ring freezes: every block was in use."),
		mode:     d("tapflow_capture_xdp_mode", "1 for the XDP attach mode in use.", "mode"),
	}
}

// Describe implements prometheus.Collector.
func (c *CaptureCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.received, c.kernel, c.drops, c.freezes, c.mode, c.oversize} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *CaptureCollector) Collect(ch chan<- prometheus.Metric) {
	s, err := c.src.CaptureStats()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.drops, err)
		return
	}
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	counter(c.received, s.Received)
	counter(c.kernel, s.KernelPackets)
	counter(c.drops, s.Drops)
	counter(c.freezes, s.QueueFreezes)
	if s.XDPMode != "" {
		counter(c.oversize, s.Oversize)
		ch <- prometheus.MustNewConstMetric(c.mode, prometheus.GaugeValue, 1, s.XDPMode)
	}
}

package dataplane

import (
	"github.com/tapflow/tapflow/flowtable"
	"github.com/tapflow/tapflow/internal/mum"
	"github.com/tapflow/tapflow/tap"
)

// shard returns the worker, of n, that owns m's flow. Both directions of a
// flow must reach the same table, so the hash is symmetric: it sums the
// two endpoints' addresses and ports, which swapping source and
// destination leaves as they are. It reads no more of the flow key than
// addresses, ports and protocol (a flow's packets share those too), and
// builds no key: the reader, which feeds every worker, used to build the
// table's canonical key and hash it again from memory for every packet,
// work the worker then did once more.
func shard(m *tap.Meta, n int) int {
	s0, s1 := flowtable.AddrWords(m.Src)
	d0, d1 := flowtable.AddrWords(m.Dst)
	ports := uint64(m.SrcPort) + uint64(m.DstPort) | uint64(m.SrcPort^m.DstPort)<<32 | uint64(m.Proto)<<56
	h := mum.Mum((s0+d0)^mum.Seed0, (s1+d1)^mum.Seed1) ^ mum.Mum(ports^mum.Seed2, mum.Seed3)
	return int(uint64(uint32(h^h>>32)) * uint64(n) >> 32)
}

package bench

import (
	"encoding/binary"
	"testing"
)

func TestScratchRewriteReal(t *testing.T) {
	files, _ := listCaptures(DefaultCorpusConfig("/work/main").Sources)
	var okb, oka, broke, full int
	for _, path := range files {
		c, _ := loadCapture(path)
		if c == nil {
			continue
		}
		for _, p := range c.pkts {
			f := append([]byte(nil), c.arena[p.off:p.off+p.n]...)
			if p.ip.l4Off < 0 {
				continue
			}
			o := p.ip.ipOff
			if p.ip.version == 4 {
				total := int(binary.BigEndian.Uint16(f[o+2:]))
				if o+total > len(f) || total < p.ip.l4Off-o+8 || binary.BigEndian.Uint16(f[o+6:])&0x2000 != 0 {
					continue
				}
			} else {
				if o+40+int(binary.BigEndian.Uint16(f[o+4:])) > len(f) || p.ip.l4Off != o+40 {
					continue
				}
			}
			if p.ip.proto == protoUDP && binary.BigEndian.Uint16(f[p.ip.l4Off+6:]) == 0 {
				continue
			}
			full++
			ip1, l41 := checksumsOK(t, f, p.ip)
			p.ip.rewrite(f, 0x5a5a1234)
			ip2, l42 := checksumsOK(t, f, p.ip)
			if ip1 && l41 {
				okb++
			}
			if ip2 && l42 {
				oka++
			}
			if ip1 && l41 && !(ip2 && l42) {
				broke++
				if broke < 5 {
					t.Logf("%s: ip %v->%v l4 %v->%v v%d proto %d", c.name, ip1, ip2, l41, l42, p.ip.version, p.ip.proto)
				}
			}
		}
	}
	t.Logf("complete=%d ok before=%d after=%d broke=%d", full, okb, oka, broke)
}

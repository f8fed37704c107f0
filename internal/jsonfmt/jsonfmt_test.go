package jsonfmt

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestAppendUint(t *testing.T) {
	for _, v := range []uint64{0, 1, 9, 10, 11, 42, 99, 100, 101, 999, 1000, 65535, math.MaxUint32, math.MaxUint64} {
		for _, v := range []uint64{v, v - 1, v + 1} {
			if got, want := string(AppendUint([]byte("x"), v)), "x"+strconv.FormatUint(v, 10); got != want {
				t.Errorf("AppendUint(%d) = %q, want %q", v, got, want)
			}
		}
	}
	for p := uint64(1); p < math.MaxUint64/10; p *= 10 {
		for _, v := range []uint64{p - 1, p, p + 1, 10*p - 1} {
			if got, want := string(AppendUint(nil, v)), strconv.FormatUint(v, 10); got != want {
				t.Errorf("AppendUint(%d) = %q, want %q", v, got, want)
			}
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 100_000 {
		v := rng.Uint64() >> rng.UintN(64)
		if got, want := string(AppendUint(nil, v)), strconv.FormatUint(v, 10); got != want {
			t.Fatalf("AppendUint(%d) = %q, want %q", v, got, want)
		}
	}
}

// TestAppendUTC compares AppendUTC with package time's formatting at the
// edges of its range, over every day of four centuries around the leap-year
// rules, and at random.
func TestAppendUTC(t *testing.T) {
	const layout = "2006-01-02T15:04:05.000000Z"
	check := func(sec int64, us uint32) {
		t.Helper()
		got, ok := AppendUTC([]byte("x"), sec, us)
		if !ok {
			t.Fatalf("AppendUTC(%d, %d) refused a time in range", sec, us)
		}
		if want := "x" + time.Unix(sec, int64(us)*1000).UTC().Format(layout); string(got) != want {
			t.Fatalf("AppendUTC(%d, %d) = %q, want %q", sec, us, got, want)
		}
	}
	for _, sec := range []int64{MinSec, MinSec + 1, -1, 0, 1, 951782400, 1709164800, 4107456000, MaxSec - 1} {
		check(sec, 0)
		check(sec, 999999)
	}
	for sec := int64(-11676096000); sec < 1e10; sec += 86400 { // 1600 to 2286
		check(sec+86399, 123456)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		check(MinSec+rng.Int64N(MaxSec-MinSec), uint32(rng.IntN(1e6)))
	}
	for _, sec := range []int64{MinSec - 1, MaxSec, math.MinInt64, math.MaxInt64} {
		if got, ok := AppendUTC([]byte("x"), sec, 0); ok || string(got) != "x" {
			t.Errorf("AppendUTC(%d) = %q, %v; want it refused", sec, got, ok)
		}
	}
}

// FuzzAppendUTC: any time in range formats as package time does; any
// other is refused without writing.
func FuzzAppendUTC(f *testing.F) {
	f.Add(int64(0), uint32(0))
	f.Add(int64(MinSec), uint32(999999))
	f.Add(int64(MaxSec-1), uint32(1))
	f.Fuzz(func(t *testing.T, sec int64, us uint32) {
		us %= 1_000_000
		got, ok := AppendUTC(nil, sec, us)
		if sec < MinSec || sec >= MaxSec {
			if ok || len(got) != 0 {
				t.Fatalf("AppendUTC(%d) = %q, %v outside the range", sec, got, ok)
			}
			return
		}
		if want := time.Unix(sec, int64(us)*1000).UTC().Format("2006-01-02T15:04:05.000000Z"); !ok || string(got) != want {
			t.Fatalf("AppendUTC(%d, %d) = %q, want %q", sec, us, got, want)
		}
	})
}

// TestAppendAddr: every octet value in every position, IPv6, IPv4-mapped
// IPv6 and the zero Addr come out as netip's AppendTo writes them, after
// what dst held.
func TestAppendAddr(t *testing.T) {
	check := func(a netip.Addr) {
		t.Helper()
		want := a.AppendTo([]byte("x="))
		if got := AppendAddr([]byte("x="), a); string(got) != string(want) {
			t.Fatalf("AppendAddr(%v) = %q, want %q", a, got, want)
		}
	}
	for pos := range 4 {
		for v := range 256 {
			ip := [4]byte{1, 22, 233, 4}
			ip[pos] = byte(v)
			check(netip.AddrFrom4(ip))
		}
	}
	check(netip.AddrFrom4([4]byte{255, 255, 255, 255}))
	check(netip.AddrFrom4([4]byte{}))
	check(netip.Addr{})
	check(netip.MustParseAddr("2001:db8::1"))
	check(netip.MustParseAddr("::ffff:10.0.0.1"))
	check(netip.MustParseAddr("fe80::1%eth0"))
}

// FuzzAppendAddr: any address formats as netip's AppendTo does.
func FuzzAppendAddr(f *testing.F) {
	f.Add([]byte{10, 0, 0, 1})
	f.Add([]byte{0x20, 1, 0xd, 0xb8, 15: 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		a, ok := netip.AddrFromSlice(b)
		if !ok {
			return
		}
		if got, want := AppendAddr(nil, a), a.AppendTo(nil); string(got) != string(want) {
			t.Fatalf("AppendAddr(%v) = %q, want %q", a, got, want)
		}
	})
}

func BenchmarkAppendAddr(b *testing.B) {
	addrs := []netip.Addr{netip.AddrFrom4([4]byte{10, 1, 22, 233}), netip.AddrFrom4([4]byte{192, 168, 100, 7})}
	buf := make([]byte, 0, 64)
	b.Run("jsonfmt", func(b *testing.B) {
		for i := range b.N {
			buf = AppendAddr(buf[:0], addrs[i&1])
		}
	})
	b.Run("netip", func(b *testing.B) {
		for i := range b.N {
			buf = addrs[i&1].AppendTo(buf[:0])
		}
	})
}

// TestAppendUTCCache: days that share a dateCache entry, formatted in turn
// and from several goroutines at once, each come out as package time
// formats them: an entry another day overwrote is only a miss.
func TestAppendUTCCache(t *testing.T) {
	base := int64(1_700_000_000)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				// Days 64 apart share an entry; goroutines step through
				// them in different orders.
				sec := base + int64((i*(g+1))%7)*64*86400 + int64(i)*7
				got, ok := AppendUTC(nil, sec, uint32(i))
				want := time.Unix(sec, int64(i)*1000).UTC().Format("2006-01-02T15:04:05.000000Z")
				if !ok || string(got) != want {
					t.Errorf("AppendUTC(%d) = %q, want %q", sec, got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// FuzzAppendUint: any value formats as strconv does, after what dst held.
func FuzzAppendUint(f *testing.F) {
	f.Add(uint64(0), []byte(nil))
	f.Add(uint64(math.MaxUint64), []byte("x"))
	f.Fuzz(func(t *testing.T, v uint64, dst []byte) {
		want := strconv.AppendUint(append([]byte(nil), dst...), v, 10)
		if got := AppendUint(append([]byte(nil), dst...), v); string(got) != string(want) {
			t.Fatalf("AppendUint(%q, %d) = %q, want %q", dst, v, got, want)
		}
	})
}

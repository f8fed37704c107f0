package mum

import (
	"math/big"
	"math/rand/v2"
	"testing"
)

// TestMum checks Mum against the product computed with big integers, and
// Mix against its definition.
func TestMum(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	mask := new(big.Int).SetUint64(^uint64(0))
	for range 1000 {
		a, b := rng.Uint64(), rng.Uint64()
		p := new(big.Int).Mul(new(big.Int).SetUint64(a), new(big.Int).SetUint64(b))
		lo := new(big.Int).And(p, mask).Uint64()
		hi := new(big.Int).Rsh(p, 64).Uint64()
		if got := Mum(a, b); got != hi^lo {
			t.Fatalf("Mum(%#x, %#x) = %#x, want %#x", a, b, got, hi^lo)
		}
		if got, want := Mix(a, b), Mum(a^b, 0xBF58476D1CE4E5B9); got != want {
			t.Fatalf("Mix(%#x, %#x) = %#x, want %#x", a, b, got, want)
		}
	}
}

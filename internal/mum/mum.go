// Package mum is the multiply-and-fold step of wyhash, which tapflow's
// hashes are built from. The hot path's (flow keys, dedup keys) use it in
// lanes: pairs of 64-bit words are
// multiplied in independent lanes and the lanes folded, so the
// multiplications overlap instead of each waiting for the one before.
package mum

import "math/bits"

// The seeds are wyhash's: odd, with as many ones as zeros in every byte.
// A word is XORed with a seed before it is multiplied, so that a zero word
// does not zero its lane.
const (
	Seed0 = 0xa0761d6478bd642f
	Seed1 = 0xe7037ed1a0b428db
	Seed2 = 0x8ebc6af09c88c6e3
	Seed3 = 0x589965cc75374cc3
	Seed4 = 0x1d8e4e27c47d124f
	Seed5 = 0x2d358dccaa6c78a5
)

// Mix folds word v into the running hash h: one multiply-and-fold round,
// for hashes built a word at a time where lanes do not pay (keys hashed
// once a second or once a batch, not once a packet).
func Mix(h, v uint64) uint64 { return Mum(h^v, 0xBF58476D1CE4E5B9) }

// Mum is the 128-bit product of a and b, its halves XORed.
func Mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

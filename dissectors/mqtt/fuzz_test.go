package mqtt

import (
	"testing"

	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

func FuzzParse(f *testing.F) {
	dtest.Fuzz(f, New(), 6, []string{
		"\x30\x07\x00\x03a/b\x78\x79\x32\x09\x00\x03a/b\x00\x07xy",
		"\x82\x0b\x00\x05\x02\x0b\x01\x00\x03a/#\x01",
		"\x90\x0b\x00\x05\x06\x1f\x00\x03no!\x87",
		"\x20\x03\x00\x89\x00",
	}, "testdata/mosquitto.pcap")
}

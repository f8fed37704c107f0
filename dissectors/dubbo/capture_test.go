package dubbo

import (
	"bytes"
	"encoding/binary"
	"flag"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/internal/pcapgen"
)

// No shared capture has Dubbo traffic and no Dubbo provider is packaged
// for Debian, so testdata/dubbo.pcap is written by this file: the exact
// bytes a Dubbo 2.7 consumer and provider exchange over hessian2 (header
// per the Dubbo protocol spec, bodies per DubboCodec.encodeRequestData /
// encodeResponseData and the Hessian 2.0 serialization spec), framed in
// Ethernet/IPv4/TCP with a handshake so the client side is known.

// hs encodes s as a hessian2 string: compact (< 32 characters), medium
// (< 1024) or 'S' chunk.
func hs(s string) []byte {
	n := len([]rune(s))
	var b []byte
	switch {
	case n < 32:
		b = []byte{byte(n)}
	case n < 1024:
		b = []byte{byte(0x30 + n>>8), byte(n)}
	default:
		b = []byte{'S', byte(n >> 8), byte(n)}
	}
	return append(b, s...)
}

// hmap encodes an untyped hessian2 map of strings ('H' … 'Z').
func hmap(kv ...string) []byte {
	b := []byte{'H'}
	for _, s := range kv {
		b = append(b, hs(s)...)
	}
	return append(b, 'Z')
}

// msg builds a Dubbo message.
func msg(flag, status byte, id uint64, body ...[]byte) []byte {
	b := []byte{magic0, magic1, flag, status}
	b = binary.BigEndian.AppendUint64(b, id)
	data := bytes.Join(body, nil)
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	return append(b, data...)
}

const (
	reqTwoWay = flagRequest | flagTwoWay | serialHessian2
	respH2    = serialHessian2
)

// invoke builds a two-way hessian2 request for service.method(String).
func invoke(id uint64, service, version, method string, arg string) []byte {
	return msg(reqTwoWay, 0, id, hs("2.0.2"), hs(service), hs(version), hs(method), hs("Ljava/lang/String;"), hs(arg),
		hmap("path", service, "remote.application", "demo-consumer", "interface", service, "version", version, "timeout", "3000"))
}

const greetings = "org.apache.dubbo.samples.api.GreetingsService"

// dubboExchange is the conversation in testdata/dubbo.pcap, one entry per
// TCP segment.
func dubboExchange() []struct {
	toServer bool
	payload  []byte
} {
	missing := "org.apache.dubbo.samples.api.MissingService"
	notFound := "Not found exported service: " + missing + ":1.0.0:20880 in [" + greetings +
		":1.0.0:20880], may be version or group mismatch , channel: consumer: /10.0.0.1:45678 --> provider: /10.0.0.2:20880, message:RpcInvocation [methodName=find, parameterTypes=[class java.lang.String]]"
	big := invoke(6, greetings, "1.0.0", "upload", string(bytes.Repeat([]byte("x"), 3000)))
	return []struct {
		toServer bool
		payload  []byte
	}{
		{true, invoke(1, greetings, "1.0.0", "sayHi", "dubbo")},
		{false, msg(respH2, statusOK, 1, []byte{0x94}, hs("hi, dubbo"), hmap("dubbo", "2.0.2"))},
		// Heartbeat: an event request with a null body, and its answer.
		{true, msg(flagRequest|flagTwoWay|flagEvent|serialHessian2, 0, 2, []byte{'N'})},
		{false, msg(flagEvent|serialHessian2, statusOK, 2, []byte{'N'})},
		// A service the provider does not export.
		{true, invoke(3, missing, "1.0.0", "find", "key-42")},
		{false, msg(respH2, 60, 3, hs(notFound))},
		// Two pipelined requests in one segment, both answered in one.
		{true, append(invoke(4, greetings, "1.0.0", "sayHello", "a"), invoke(5, greetings, "1.0.0", "sayHello", "b")...)},
		{false, append(msg(respH2, statusOK, 4, []byte{0x91}, hs("hello, a")),
			msg(respH2, 70, 5, hs("java.lang.IllegalStateException: boom"))...)},
		// A request larger than one segment.
		{true, big[:1400]},
		{true, big[1400:]},
		{false, msg(respH2, statusOK, 6, []byte{0x92})},
	}
}

// writeDubboCapture writes the exchange as a pcap at path.
func writeDubboCapture(path string) error {
	cli, srv := net.IPv4(10, 0, 0, 1).To4(), net.IPv4(10, 0, 0, 2).To4()
	const cport, sport = 45678, 20880
	cseq, sseq := uint32(1000), uint32(5000)
	at := time.UnixMicro(1_700_000_000_000_000)
	var recs []pcapgen.Record
	var ipid uint16
	add := func(toServer bool, syn, ack bool, payload []byte) error {
		src, dst, sp, dp, seq, ackn := cli, srv, cport, sport, cseq, sseq
		if !toServer {
			src, dst, sp, dp, seq, ackn = srv, cli, sport, cport, sseq, cseq
		}
		ipid++
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2},
			EthernetType: layers.EthernetTypeIPv4}
		if !toServer {
			eth.SrcMAC, eth.DstMAC = eth.DstMAC, eth.SrcMAC
		}
		ip := &layers.IPv4{Version: 4, TTL: 64, Id: ipid, Flags: layers.IPv4DontFragment, SrcIP: src, DstIP: dst,
			Protocol: layers.IPProtocolTCP}
		tcp := &layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), Seq: seq, Window: 512,
			SYN: syn, ACK: ack, PSH: len(payload) > 0}
		if ack {
			tcp.Ack = ackn
		}
		if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
			return err
		}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
			eth, ip, tcp, gopacket.Payload(payload)); err != nil {
			return err
		}
		recs = append(recs, pcapgen.Record{Time: at, Data: bytes.Clone(buf.Bytes())})
		at = at.Add(300 * time.Microsecond)
		n := uint32(len(payload))
		if syn {
			n = 1
		}
		if toServer {
			cseq += n
		} else {
			sseq += n
		}
		return nil
	}
	steps := []func() error{
		func() error { return add(true, true, false, nil) },
		func() error { return add(false, true, true, nil) },
		func() error { return add(true, false, true, nil) },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	for _, seg := range dubboExchange() {
		if err := add(seg.toServer, false, true, seg.payload); err != nil {
			return err
		}
	}
	return pcapgen.WriteRecords(path, recs)
}

// TestCapture keeps testdata/dubbo.pcap equal to what writeDubboCapture
// writes (rewritten with -update).
func TestCapture(t *testing.T) {
	tmp := filepath.Join(t.TempDir(), "dubbo.pcap")
	require.NoError(t, writeDubboCapture(tmp))
	got, err := os.ReadFile(tmp)
	require.NoError(t, err)
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		require.NoError(t, os.WriteFile("testdata/dubbo.pcap", got, 0o644))
	}
	want, err := os.ReadFile("testdata/dubbo.pcap")
	require.NoError(t, err)
	require.True(t, bytes.Equal(want, got), "testdata/dubbo.pcap is stale: rerun with -update")
}

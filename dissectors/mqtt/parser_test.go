package mqtt

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

func TestGolden(t *testing.T) {
	dtest.Goldens(t, New(), []dtest.Capture{
		{Name: "ndpi-mqtt", Corpus: "ndpi", File: "mqtt.pcap"},
		{Name: "mosquitto", File: "mosquitto.pcap"},
	})
}

func hexb(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	require.NoError(t, err)
	return b
}

func meta(toServer bool, n int) *dissectors.Meta {
	return &dissectors.Meta{Proto: 6, ClientPort: 40000, ServerPort: 1883, ToServer: toServer, PayloadLen: uint32(n)}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name     string
		hex      string
		toServer bool
		want     string
		err      error
	}{
		{"CONNECT 3.1.1", "1023 0004 4d515454 04 c2 003c 0008 7375622d76333131 0005 616c696365 0006 736563726574", true,
			dtest.Lines(`{"kind":1,"l7_protocol":"MQTT","key":0,"len":37,"version":"3.1.1","request_type":"CONNECT","request_domain":"sub-v311"}`), nil},
		{"CONNECT 5 with properties", "1019 0004 4d515454 05 02 003c 05 11 0000003c 0006 7075622d7635", true,
			dtest.Lines(`{"kind":1,"l7_protocol":"MQTT","key":0,"len":27,"version":"5","request_type":"CONNECT","request_domain":"pub-v5"}`), nil},
		{"CONNACK bad credentials 3.1.1", "2002 0004", false,
			dtest.Lines(`{"kind":2,"l7_protocol":"MQTT","key":0,"response_code":4,"response_status":4,"len":4,"request_type":"CONNACK","response_exception":"bad user name or password"}`), nil},
		{"CONNACK server unavailable", "2002 0003", false,
			dtest.Lines(`{"kind":2,"l7_protocol":"MQTT","key":0,"response_code":3,"response_status":3,"len":4,"request_type":"CONNACK","response_exception":"server unavailable"}`), nil},
		{"CONNACK 5 server busy", "2003 0089 00", false,
			dtest.Lines(`{"kind":2,"l7_protocol":"MQTT","key":0,"response_code":137,"response_status":3,"len":5,"request_type":"CONNACK","response_exception":"server busy"}`), nil},
		{"PUBLISH QoS 0 and 1 in one segment", "3007 0003 612f62 7879 3209 0003 612f62 0007 7879", true, dtest.Lines(
			`{"kind":3,"l7_protocol":"MQTT","response_status":0,"len":9,"request_type":"PUBLISH","request_domain":"a/b","request_resource":"a/b"}`,
			`{"kind":1,"l7_protocol":"MQTT","key":7,"len":11,"request_type":"PUBLISH","request_domain":"a/b","request_resource":"a/b"}`), nil},
		{"PUBLISH beyond the segment", "32 c801 0003 612f62 0009 7b22", true,
			dtest.Lines(`{"kind":1,"l7_protocol":"MQTT","key":9,"len":203,"request_type":"PUBLISH","request_domain":"a/b","request_resource":"a/b"}`), nil},
		{"PUBACK 5 not authorized", "4003 0007 87", false,
			dtest.Lines(`{"kind":2,"l7_protocol":"MQTT","key":7,"response_code":135,"response_status":4,"len":5,"request_type":"PUBACK","response_exception":"not authorized"}`), nil},
		{"SUBSCRIBE 3.1.1 two filters", "8216 0005 0003 612f23 01 000b 73656e736f72732f2b2f74 02", true,
			dtest.Lines(`{"kind":1,"l7_protocol":"MQTT","key":5,"len":24,"request_type":"SUBSCRIBE","request_domain":"a/#","request_resource":"a/#,sensors/+/t"}`), nil},
		{"SUBSCRIBE 5 with properties", "820b 0005 02 0b01 0003 612f23 01", true,
			dtest.Lines(`{"kind":1,"l7_protocol":"MQTT","key":5,"len":13,"request_type":"SUBSCRIBE","request_domain":"a/#","request_resource":"a/#"}`), nil},
		{"SUBACK failure 0x80", "9004 0005 0180", false,
			dtest.Lines(`{"kind":2,"l7_protocol":"MQTT","key":5,"response_code":128,"response_status":3,"len":6,"request_type":"SUBACK","response_exception":"unspecified error"}`), nil},
		{"SUBACK 5 with a reason string", "900b 0005 06 1f0003 6e6f21 87", false,
			dtest.Lines(`{"kind":2,"l7_protocol":"MQTT","key":5,"response_code":135,"response_status":4,"len":13,"request_type":"SUBACK","response_exception":"not authorized"}`), nil},
		{"UNSUBSCRIBE and PINGREQ", "a205 0006 0001 61 c000", true, dtest.Lines(
			`{"kind":1,"l7_protocol":"MQTT","key":6,"len":7,"request_type":"UNSUBSCRIBE","request_domain":"a","request_resource":"a"}`,
			`{"kind":1,"l7_protocol":"MQTT","key":0,"len":2,"request_type":"PINGREQ"}`), nil},
		{"UNSUBACK, PINGRESP", "b002 0006 d000", false, dtest.Lines(
			`{"kind":2,"l7_protocol":"MQTT","key":6,"response_status":0,"len":4,"request_type":"UNSUBACK"}`,
			`{"kind":2,"l7_protocol":"MQTT","key":0,"response_status":0,"len":2,"request_type":"PINGRESP"}`), nil},
		{"PUBREC PUBREL PUBCOMP", "5002 0003 6202 0003 7002 0003", false, dtest.Lines(
			`{"kind":2,"l7_protocol":"MQTT","key":3,"response_status":0,"len":4,"request_type":"PUBREC"}`,
			`{"kind":1,"l7_protocol":"MQTT","key":3,"len":4,"request_type":"PUBREL"}`,
			`{"kind":2,"l7_protocol":"MQTT","key":3,"response_status":0,"len":4,"request_type":"PUBCOMP"}`), nil},
		{"DISCONNECT 5 with a server error", "e001 8b", false,
			dtest.Lines(`{"kind":3,"l7_protocol":"MQTT","response_code":139,"response_status":3,"len":3,"request_type":"DISCONNECT","response_exception":"server shutting down"}`), nil},
		{"continuation (JSON)", "7b2273223a3230347d", true, "", nil},
		{"header cut after a packet", "e000 30", true,
			dtest.Lines(`{"kind":3,"l7_protocol":"MQTT","response_status":0,"len":2,"request_type":"DISCONNECT"}`), nil},
		{"short", "30", true, "", dissectors.ErrShort},
		{"bad packet id", "4002 0000", false, "", dissectors.ErrMalformed},
		{"PUBLISH topic longer than the packet", "3005 0009 612f62", true, "", dissectors.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := hexb(t, tc.hex)
			require.Equal(t, tc.want, dtest.JSON(dtest.Parse(t, New(), p, meta(tc.toServer, len(p)), tc.err)))
		})
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		hex  string
		port uint16
		want bool
	}{
		{"CONNECT MQTT 3.1.1", "1023 0004 4d515454 04 c2 003c 0008 7375622d76333131 0005 616c696365 0006 736563726574", 9999, true},
		{"CONNECT MQIsdp 3.1", "1012 0006 4d5149736470 03 02 003c 0004 61626364", 9999, true},
		{"CONNECT MQTT with level 3", "1010 0004 4d515454 03 02 003c 0004 61626364", 9999, false},
		{"CONNECT other name", "1010 0004 4d515855 04 02 003c 0004 61626364", 9999, false},
		{"PUBLISH on 1883", "3007 0003 612f62 7879", 1883, true},
		{"PUBLISH elsewhere", "3007 0003 612f62 7879", 9999, false},
		{"PUBLISH with a wildcard topic", "3007 0003 612f23 7879", 1883, false},
		{"PUBLISH with a wrong length", "3009 0003 612f62 7879", 1883, false},
		{"PINGREQ on 1883", "c000", 1883, true},
		{"SUBSCRIBE on 1883", "8208 0005 0003 612f23 01", 1883, false},
		{"HTTP", "474554202f20485454502f312e310d0a", 1883, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &dissectors.Meta{Proto: 6, ClientPort: 40000, ServerPort: tc.port, ToServer: true}
			require.Equal(t, tc.want, New().Check(hexb(t, tc.hex), m))
		})
	}
}

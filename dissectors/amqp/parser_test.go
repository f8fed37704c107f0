package amqp

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

// frame builds a frame of type typ on channel ch.
func frame(typ byte, ch uint16, payload []byte) []byte {
	b := []byte{typ, byte(ch >> 8), byte(ch), 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[3:], uint32(len(payload)))
	b = append(b, payload...)
	return append(b, frameEnd)
}

// mframe builds a method frame; args are octets, shorts (uint16), longs
// (uint32), long longs (uint64) or short strings (string).
func mframe(ch, class, id uint16, args ...any) []byte {
	p := binary.BigEndian.AppendUint16(nil, class)
	p = binary.BigEndian.AppendUint16(p, id)
	for _, a := range args {
		switch v := a.(type) {
		case byte:
			p = append(p, v)
		case uint16:
			p = binary.BigEndian.AppendUint16(p, v)
		case uint32: // a long, or an empty field table
			p = binary.BigEndian.AppendUint32(p, v)
		case uint64:
			p = binary.BigEndian.AppendUint64(p, v)
		case string:
			p = append(p, byte(len(v)))
			p = append(p, v...)
		}
	}
	return frame(frameMethod, ch, p)
}

func cat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

func meta(toServer bool, n int) *dissectors.Meta {
	return &dissectors.Meta{Proto: 6, ClientPort: 40000, ServerPort: 5672, ToServer: toServer, PayloadLen: uint32(n)}
}

const (
	pre = `{"kind":`
	ver = `"version":"0-9-1",`
)

func TestParse(t *testing.T) {
	publish := cat(mframe(1, 60, 40, uint16(0), "amq.topic", "orders.eu", byte(0)),
		frame(frameHeader, 1, []byte{0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0}),
		frame(frameBody, 1, []byte("hello")))
	for _, tc := range []struct {
		name     string
		payload  []byte
		toServer bool
		want     string
		err      error
	}{
		{"protocol header then StartOk", cat([]byte(protocolHeader), mframe(0, 10, 11, uint16(0))), true,
			dtest.Lines(pre + `2,"l7_protocol":"AMQP","key":0,"response_status":0,"len":14,` + ver + `"request_type":"Connection.StartOk"}`), nil},
		{"Connection.Start from the server is a request", mframe(0, 10, 10, byte(0), byte(9)), false,
			dtest.Lines(pre + `1,"l7_protocol":"AMQP","key":0,"len":14,` + ver + `"request_type":"Connection.Start"}`), nil},
		{"Connection.Open virtual host", mframe(0, 10, 40, "/prod", "", byte(0)), true,
			dtest.Lines(pre + `1,"l7_protocol":"AMQP","key":0,"len":20,` + ver + `"request_type":"Connection.Open","request_domain":"/prod"}`), nil},
		{"Queue.Declare", mframe(1, 50, 10, uint16(0), "jobs", byte(0x02), uint32(0)), true,
			dtest.Lines(pre + `1,"l7_protocol":"AMQP","key":1,"len":24,` + ver + `"request_type":"Queue.Declare","request_domain":"jobs"}`), nil},
		{"Queue.Declare no-wait is a session", mframe(1, 50, 10, uint16(0), "jobs", byte(0x10), uint32(0)), true,
			dtest.Lines(pre + `3,"l7_protocol":"AMQP","key":1,"response_status":0,"len":24,` + ver + `"request_type":"Queue.Declare","request_domain":"jobs"}`), nil},
		{"Queue.DeclareOk", mframe(1, 50, 11, "amq.gen-1", uint16(0), uint16(0), uint16(0), uint16(0)), false,
			dtest.Lines(pre + `2,"l7_protocol":"AMQP","key":1,"response_status":0,"len":30,` + ver + `"request_type":"Queue.DeclareOk","request_domain":"amq.gen-1"}`), nil},
		{"Basic.Consume", mframe(2, 60, 20, uint16(0), "jobs", "ctag", byte(0x02), uint32(0)), true,
			dtest.Lines(pre + `1,"l7_protocol":"AMQP","key":2,"len":29,` + ver + `"request_type":"Basic.Consume","request_domain":"jobs"}`), nil},
		{"Queue.Bind", mframe(1, 50, 20, uint16(0), "jobs", "amq.topic", "orders.#", byte(0), uint32(0)), true,
			dtest.Lines(pre + `1,"l7_protocol":"AMQP","key":1,"len":43,` + ver + `"request_type":"Queue.Bind","request_domain":"jobs","request_resource":"orders.#"}`), nil},
		{"Basic.Publish with header and body", publish, true,
			dtest.Lines(pre + `3,"l7_protocol":"AMQP","key":1,"response_status":0,"len":35,` + ver + `"request_type":"Basic.Publish","request_domain":"amq.topic","request_resource":"orders.eu"}`), nil},
		{"Basic.Deliver", mframe(1, 60, 60, "ctag", uint64(7), byte(0), "amq.topic", "orders.eu"), false,
			dtest.Lines(pre + `3,"l7_protocol":"AMQP","key":1,"response_status":0,"len":46,` + ver + `"request_type":"Basic.Deliver","request_domain":"amq.topic","request_resource":"orders.eu"}`), nil},
		{"Basic.Return no route", mframe(1, 60, 50, uint16(312), "NO_ROUTE", "amq.direct", "nowhere"), false,
			dtest.Lines(pre + `3,"l7_protocol":"AMQP","key":1,"response_code":312,"response_status":0,"len":42,` + ver + `"request_type":"Basic.Return","request_domain":"amq.direct","request_resource":"nowhere","response_exception":"NO_ROUTE"}`), nil},
		{"Channel.Close 404 from the server answers the request", mframe(1, 20, 40, uint16(404), "NOT_FOUND - no queue 'jobs'", uint16(50), uint16(10)), false,
			dtest.Lines(pre + `2,"l7_protocol":"AMQP","key":1,"response_code":404,"response_status":4,"len":46,` + ver + `"request_type":"Channel.Close","response_exception":"NOT_FOUND - no queue 'jobs'"}`), nil},
		{"Connection.Close 541 from the server", mframe(0, 10, 50, uint16(541), "INTERNAL_ERROR", uint16(0), uint16(0)), false,
			dtest.Lines(pre + `2,"l7_protocol":"AMQP","key":0,"response_code":541,"response_status":3,"len":33,` + ver + `"request_type":"Connection.Close","response_exception":"INTERNAL_ERROR"}`), nil},
		{"Connection.Close 320 from the server is a session", mframe(0, 10, 50, uint16(320), "CONNECTION_FORCED", uint16(0), uint16(0)), false,
			dtest.Lines(pre + `3,"l7_protocol":"AMQP","key":0,"response_code":320,"response_status":0,"len":36,` + ver + `"request_type":"Connection.Close"}`), nil},
		{"client Close and CloseOk", cat(mframe(1, 20, 41), mframe(0, 10, 50, uint16(200), "bye", uint16(0), uint16(0))), true, dtest.Lines(
			pre+`3,"l7_protocol":"AMQP","key":1,"response_status":0,"len":12,`+ver+`"request_type":"Channel.CloseOk"}`,
			pre+`1,"l7_protocol":"AMQP","key":0,"response_code":200,"len":22,`+ver+`"request_type":"Connection.Close"}`), nil},
		{"server CloseOk", mframe(0, 10, 51), false,
			dtest.Lines(pre + `2,"l7_protocol":"AMQP","key":0,"response_status":0,"len":12,` + ver + `"request_type":"Connection.CloseOk"}`), nil},
		{"heartbeat", frame(frameHeartbeat, 0, nil), true, "", nil},
		{"method frame beyond the segment", mframe(1, 60, 40, uint16(0), "ex", "rk", byte(0))[:17], true,
			dtest.Lines(pre + `3,"l7_protocol":"AMQP","key":1,"response_status":0,"len":21,` + ver + `"request_type":"Basic.Publish","request_domain":"ex"}`), nil},
		{"continuation of a body frame", []byte(`{"json": "body"}` + "\xce"), true, "", nil},
		{"short", []byte{1, 0, 1}, true, "", dissectors.ErrShort},
		{"unknown method", mframe(1, 60, 99), true, "", dissectors.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, dtest.JSON(dtest.Parse(t, New(), tc.payload, meta(tc.toServer, len(tc.payload)), tc.err)))
		})
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload []byte
		want    bool
	}{
		{"protocol header", []byte(protocolHeader), true},
		{"AMQP 1.0 header", []byte("AMQP\x00\x01\x00\x00"), false},
		{"method frame", mframe(1, 60, 40, uint16(0), "ex", "rk", byte(0)), true},
		{"method frame without its end", mframe(1, 60, 40, uint16(0), "ex", "rk", byte(0))[:20], false},
		{"unknown method", mframe(1, 60, 99), false},
		{"body frame", frame(frameBody, 1, []byte("hello")), false},
		{"HTTP", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &dissectors.Meta{Proto: 6, ClientPort: 40000, ServerPort: 5672, ToServer: true}
			require.Equal(t, tc.want, New().Check(tc.payload, m))
		})
	}
}

func TestGolden(t *testing.T) {
	dtest.Goldens(t, New(), []dtest.Capture{
		{Name: "ndpi-amqp", Corpus: "ndpi", File: "amqp.pcap"},
		{Name: "rabbitmq-3.10", File: "rabbitmq-3.10.pcap"},
	})
}

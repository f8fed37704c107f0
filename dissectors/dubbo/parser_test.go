package dubbo

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/internal/dtest"
)

func meta(toServer bool, n int) *dissectors.Meta {
	return &dissectors.Meta{Proto: 6, ClientPort: 40000, ServerPort: 20880, ToServer: toServer, PayloadLen: uint32(n)}
}

func TestParse(t *testing.T) {
	hi := invoke(1, greetings, "1.0.0", "sayHi", "dubbo")
	chunked := msg(reqTwoWay, 0, 9, hs("2.0.2"), []byte{'R', 0, 4}, []byte("com."), []byte{3}, []byte("Svc"),
		hs(""), []byte{'S', 0, 3}, []byte("get"))
	for _, tc := range []struct {
		name     string
		payload  []byte
		toServer bool
		want     string
		err      error
	}{
		{"request", hi, true, dtest.Lines(`{"kind":1,"l7_protocol":"Dubbo","key":1,"len":` + itoa(len(hi)) +
			`,"version":"2.0.2","request_type":"sayHi","request_resource":"` + greetings + `","endpoint":"` + greetings + `/sayHi"}`), nil},
		{"request cut after the service", hi[:16+6+2+len(greetings)], true, dtest.Lines(`{"kind":1,"l7_protocol":"Dubbo","key":1,"len":` +
			itoa(len(hi)) + `,"version":"2.0.2","request_resource":"` + greetings + `"}`), nil},
		{"chunked and 'S' strings", chunked, true, dtest.Lines(`{"kind":1,"l7_protocol":"Dubbo","key":9,"len":` + itoa(len(chunked)) +
			`,"version":"2.0.2","request_type":"get","request_resource":"com.Svc","endpoint":"com.Svc/get"}`), nil},
		{"one-way request is a session", msg(flagRequest|serialHessian2, 0, 7, hs("2.0.2"), hs("a.B"), hs(""), hs("m")), true,
			dtest.Lines(`{"kind":3,"l7_protocol":"Dubbo","key":7,"response_status":0,"len":29,"version":"2.0.2","request_type":"m","request_resource":"a.B","endpoint":"a.B/m"}`), nil},
		{"OK response", msg(respH2, statusOK, 1, []byte{0x91}, hs("hi")), false,
			dtest.Lines(`{"kind":2,"l7_protocol":"Dubbo","key":1,"response_code":20,"response_status":0,"len":20}`), nil},
		{"SERVICE_NOT_FOUND", msg(respH2, 60, 3, hs("Not found exported service: a.B")), false,
			dtest.Lines(`{"kind":2,"l7_protocol":"Dubbo","key":3,"response_code":60,"response_status":3,"len":48,"response_exception":"Not found exported service: a.B"}`), nil},
		{"BAD_REQUEST and CLIENT_TIMEOUT in one segment", append(msg(respH2, 40, 4, hs("bad")), msg(respH2, 30, 5, hs("timeout"))...), false, dtest.Lines(
			`{"kind":2,"l7_protocol":"Dubbo","key":4,"response_code":40,"response_status":4,"len":20,"response_exception":"bad"}`,
			`{"kind":2,"l7_protocol":"Dubbo","key":5,"response_code":30,"response_status":4,"len":24,"response_exception":"timeout"}`), nil},
		{"heartbeat", msg(flagRequest|flagTwoWay|flagEvent|serialHessian2, 0, 2, []byte{'N'}), true, "", nil},
		{"fastjson request: no body fields", msg(flagRequest|flagTwoWay|6, 0, 8, []byte("\"2.0.2\"\n")), true,
			dtest.Lines(`{"kind":1,"l7_protocol":"Dubbo","key":8,"len":24}`), nil},
		{"continuation", []byte("xxxxxxxxxxxxxxxxxxxxxxxxx"), true, "", nil},
		{"short", []byte{0xda, 0xbb, 0xc2}, true, "", dissectors.ErrShort},
		{"bad length", []byte{0xda, 0xbb, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff}, true, "", dissectors.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, dtest.JSON(dtest.Parse(t, New(), tc.payload, meta(tc.toServer, len(tc.payload)), tc.err)))
		})
	}
}

func itoa(n int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		if n /= 10; n == 0 {
			return string(b)
		}
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name     string
		payload  []byte
		toServer bool
		want     bool
	}{
		{"request", invoke(1, greetings, "1.0.0", "sayHi", "dubbo"), true, true},
		{"response", msg(respH2, statusOK, 1, []byte{0x91}, hs("hi")), false, true},
		{"response with an unknown status", msg(respH2, 21, 1, []byte{0x91}), false, false},
		{"hessian2 request without a string", msg(reqTwoWay, 0, 1, []byte{0x91}), true, false},
		{"no serialization id", msg(flagRequest|flagTwoWay, 0, 1, hs("2.0.2")), true, false},
		{"short", []byte{0xda, 0xbb, 0xc2, 0}, true, false},
		{"HTTP", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &dissectors.Meta{Proto: 6, ClientPort: 40000, ServerPort: 20880, ToServer: tc.toServer}
			require.Equal(t, tc.want, New().Check(tc.payload, m))
		})
	}
}

func TestGolden(t *testing.T) {
	dtest.Goldens(t, New(), []dtest.Capture{{Name: "dubbo", File: "dubbo.pcap"}})
}

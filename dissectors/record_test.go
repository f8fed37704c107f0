package dissectors_test

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapflow/tapflow/dissectors"
)

func TestRecordText(t *testing.T) {
	var r dissectors.Record
	r.SetString(&r.RequestType, "GET")
	r.Set(&r.RequestDomain, []byte("example.com"))
	r.Set(&r.RequestResource, []byte("/a"))
	r.Append(&r.RequestResource, []byte("/b"))
	r.Append(&r.RequestDomain, []byte("x")) // not the last field: ignored
	require.Equal(t, "GET", r.String(r.RequestType))
	require.Equal(t, "example.com", r.String(r.RequestDomain))
	require.Equal(t, "/a/b", r.String(r.RequestResource))

	// The buffer is shared by every field; what does not fit is cut.
	r.Set(&r.Exception, []byte(strings.Repeat("e", dissectors.TextCap)))
	require.Equal(t, dissectors.TextCap-len("GETexample.com/a/b"), r.Exception.Len())
	r.Set(&r.TraceID, []byte("t"))
	require.Zero(t, r.TraceID.Len())

	var q dissectors.Record
	q.Copy(&q.Endpoint, &r, r.RequestResource)
	require.Equal(t, "/a/b", q.String(q.Endpoint))

	dst, p := dissectors.Next(nil)
	require.Len(t, dst, 1)
	require.Zero(t, p.RequestType.Len())
}

func TestLogJSON(t *testing.T) {
	l := dissectors.Log{FlowID: 7, Type: dissectors.LogSession, StartTime: 1_700_000_000_000_001, EndTime: 1_700_000_000_000_501,
		RRT: 500, Proto: 6, ClientIP: netip.MustParseAddr("10.0.0.1"), ServerIP: netip.MustParseAddr("2001:db8::1"),
		ClientPort: 40000, ServerPort: 80}
	l.Protocol, l.HasCode, l.Code, l.Status = dissectors.ProtoHTTP1, true, 503, dissectors.StatusServerError
	l.Set(&l.RequestResource, []byte("/q?\"x\"\\\n\xff"))
	var got map[string]any
	require.NoError(t, json.Unmarshal(l.AppendJSON(nil), &got), "valid JSON for any bytes")
	require.Equal(t, "session", got["type"])
	require.Equal(t, "HTTP", got["l7_protocol_str"])
	require.Equal(t, float64(503), got["response_code"])
	require.Equal(t, float64(3), got["response_status"])
	require.Equal(t, "2001:db8::1", got["server_ip"])
	require.Equal(t, "2023-11-14T22:13:20.000001Z", got["start_time"])
	require.Equal(t, "/q?\"x\"\\\n\u00ff", got["request_resource"])
	require.NotContains(t, got, "request_id", "no key, no request_id")
}

// Package dubbo is the dissector for the Dubbo 2 RPC protocol (the
// "dubbo://" protocol of Apache Dubbo, l7_protocol 40, "Dubbo").
//
// Specs: the Dubbo protocol header
// (https://dubbo.apache.org/en/blog/2018/10/05/introduction-to-the-dubbo-protocol/,
// org.apache.dubbo.remoting.exchange.codec.ExchangeCodec) and the Hessian
// 2.0 serialization (http://hessian.caucho.com/doc/hessian-serialization.html).
//
// Every message that starts in a segment is a record, Key = the request id
// (so responses pair out of order); heartbeat events yield none:
//
//   - Requests (flag 0x80): two-way ones are Requests, one-way ones
//     Sessions. With hessian2 serialization the body's first strings give
//     version (the dubbo version, e.g. "2.0.2"), request_resource (the
//     service path), request_type (the method name) and endpoint
//     "<service>/<method>", as DeepFlow does; request_domain stays empty.
//   - Responses: the status byte is response_code: 20 OK is ok; 30
//     CLIENT_TIMEOUT, 40 BAD_REQUEST and 90 CLIENT_ERROR are client errors;
//     31 SERVER_TIMEOUT, 50 BAD_RESPONSE, 60 SERVICE_NOT_FOUND, 70
//     SERVICE_ERROR, 80 SERVER_ERROR and 100 thread pool exhausted are
//     server errors. An error response's hessian2 message is
//     response_exception.
//
// Hessian2 strings are read in their compact (0x00-0x1f), medium
// (0x30-0x33) and chunked ('R'…'S') forms. A message cut by the segment
// end is reported from its part seen; a segment that does not start with
// the magic 0xdabb (the rest of a large body) yields nothing.
//
// Not parsed: serializations other than hessian2 (fastjson, kryo,
// protobuf…: the header fields are still reported), the arguments and
// attachments (so no trace ids from them), an exception thrown by the
// service inside an OK response, Dubbo 3's Triple protocol (gRPC-based).
package dubbo

// Package amqp is the dissector for AMQP 0-9-1 over TCP (l7_protocol 102,
// "AMQP"), the protocol of RabbitMQ.
//
// Spec: AMQP 0-9-1 (https://www.rabbitmq.com/resources/specs/amqp0-9-1.pdf)
// and its machine-readable amqp0-9-1.xml for class and method ids.
//
// The protocol header "AMQP\x00\x00\x09\x01" is skipped. Every method frame
// that starts in a segment is a record; content header, body and heartbeat
// frames yield none. Fields:
//
//   - request_type: "<Class>.<Method>" (Connection.Start, Queue.Declare,
//     Basic.Publish, Basic.Deliver…); version "0-9-1".
//   - request_domain: the exchange (Basic.Publish, Basic.Deliver,
//     Basic.Return, Basic.GetOk, Exchange.Declare/Delete, the destination of
//     Exchange.Bind/Unbind), the queue (Queue.Declare/DeclareOk/Bind/Unbind/
//     Purge/Delete, Basic.Consume, Basic.Get) or the virtual host
//     (Connection.Open).
//   - request_resource: the routing key (Basic.Publish, Deliver, Return,
//     GetOk, Queue.Bind/Unbind, Exchange.Bind/Unbind).
//   - Key: the channel. Synchronous methods are answered on their channel
//     before the next is sent there, so the channel pairs a request with its
//     -Ok even when channels interleave.
//   - Kind: synchronous methods are Requests (also when the server sends
//     them: Connection.Start, Tune, Secure) and their -Ok (and
//     Basic.GetEmpty) Responses; a request sent with no-wait gets no -Ok
//     and is a Session, as are asynchronous methods (Basic.Publish, Deliver,
//     Ack, Nack, Reject, Return, Connection.Blocked…). Connection.Close and
//     Channel.Close are Requests from the client; from the server with a
//     reply code ≥ 400 they are the error answer to the client's pending
//     request (AMQP reports a failed Queue.Declare by closing the channel):
//     a Response with response_code = reply code, response_exception = reply
//     text and status client error (4xx) or server error (5xx); from the
//     server with a lower code they are Sessions. CloseOk from the server
//     answers the client's Close; from the client it is a Session.
//     Basic.Return carries its reply code (312 NO_ROUTE…) and text.
//
// A method frame cut by the segment end is reported from its part seen; a
// segment that does not start with a frame header (the rest of a body
// frame) yields nothing.
//
// Not parsed: AMQP 0-8/0-9 and 1.0, content header properties (message
// ids, correlation ids, headers with trace context), bodies, field tables.
package amqp

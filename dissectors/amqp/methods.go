package amqp

// AMQP 0-9-1 classes and methods (amqp0-9-1.xml). Each method has its
// request_type name, its pairing role and, for methods with a no-wait bit,
// where that bit is.

// role says how a method pairs.
type role uint8

const (
	roleAsync    role = iota // one-way (Basic.Publish, Deliver, Ack…): a Session
	roleRequest              // a synchronous method that waits for its -Ok
	roleResponse             // the -Ok (or Basic.GetEmpty) that answers it
	roleClose                // Connection.Close, Channel.Close: see closeKind
	roleCloseOk              // Connection.CloseOk, Channel.CloseOk
)

// Argument layouts used to read request_domain/request_resource and no-wait.
type layout uint8

const (
	argsNone              layout = iota
	argsOpenVhost                // Connection.Open: virtual-host
	argsClose                    // reply-code, reply-text, class-id, method-id
	argsExchange                 // reserved-1, exchange, …, bits (Exchange.Declare/Delete)
	argsQueue                    // reserved-1, queue, …, bits (Queue.Declare/Delete/Purge, Basic.Consume/Get)
	argsQueueBind                // reserved-1, queue, exchange, routing-key, no-wait (Queue.Bind/Unbind)
	argsExchangeBind             // reserved-1, destination, source, routing-key, no-wait
	argsPublish                  // reserved-1, exchange, routing-key, bits
	argsDeliver                  // consumer-tag, delivery-tag, redelivered, exchange, routing-key
	argsReturn                   // reply-code, reply-text, exchange, routing-key
	argsGetOk                    // delivery-tag, redelivered, exchange, routing-key, message-count
	argsQueueDeclareOk           // queue, message-count, consumer-count
	argsConsumerTagNoWait        // Basic.Cancel: consumer-tag, no-wait
	argsNoWaitOnly               // Confirm.Select: no-wait
)

type method struct {
	name string
	role role
	args layout
	// skip is how many short strings follow the queue/exchange name
	// before the bits octet holding no-wait (argsExchange, argsQueue);
	// noWait is that bit's index, -1 when the method has none.
	skip   uint8
	noWait int8
}

func m(name string, r role) method { return method{name: name, role: r, noWait: -1} }

// lookup returns the method of class c, method id id (ok false if unknown).
func lookup(c, id uint16) (method, bool) {
	var t []method
	switch c {
	case 10:
		t = connectionMethods[:]
	case 20:
		t = channelMethods[:]
	case 40:
		t = exchangeMethods[:]
	case 50:
		t = queueMethods[:]
	case 60:
		t = basicMethods[:]
	case 85:
		t = confirmMethods[:]
	case 90:
		t = txMethods[:]
	default:
		return method{}, false
	}
	if int(id) >= len(t) || t[id].name == "" {
		return method{}, false
	}
	return t[id], true
}

var connectionMethods = [72]method{
	10: m("Connection.Start", roleRequest), 11: m("Connection.StartOk", roleResponse),
	20: m("Connection.Secure", roleRequest), 21: m("Connection.SecureOk", roleResponse),
	30: m("Connection.Tune", roleRequest), 31: m("Connection.TuneOk", roleResponse),
	40: {name: "Connection.Open", role: roleRequest, args: argsOpenVhost, noWait: -1},
	41: m("Connection.OpenOk", roleResponse),
	50: {name: "Connection.Close", role: roleClose, args: argsClose, noWait: -1},
	51: m("Connection.CloseOk", roleCloseOk),
	60: m("Connection.Blocked", roleAsync), 61: m("Connection.Unblocked", roleAsync),
	70: m("Connection.UpdateSecret", roleRequest), 71: m("Connection.UpdateSecretOk", roleResponse),
}

var channelMethods = [42]method{
	10: m("Channel.Open", roleRequest), 11: m("Channel.OpenOk", roleResponse),
	20: m("Channel.Flow", roleRequest), 21: m("Channel.FlowOk", roleResponse),
	40: {name: "Channel.Close", role: roleClose, args: argsClose, noWait: -1},
	41: m("Channel.CloseOk", roleCloseOk),
}

var exchangeMethods = [52]method{
	// Declare: reserved-1, exchange, type, bits(passive, durable, auto-delete, internal, no-wait), arguments
	10: {name: "Exchange.Declare", role: roleRequest, args: argsExchange, skip: 1, noWait: 4},
	11: m("Exchange.DeclareOk", roleResponse),
	// Delete: reserved-1, exchange, bits(if-unused, no-wait)
	20: {name: "Exchange.Delete", role: roleRequest, args: argsExchange, noWait: 1},
	21: m("Exchange.DeleteOk", roleResponse),
	30: {name: "Exchange.Bind", role: roleRequest, args: argsExchangeBind, noWait: 0},
	31: m("Exchange.BindOk", roleResponse),
	40: {name: "Exchange.Unbind", role: roleRequest, args: argsExchangeBind, noWait: 0},
	51: m("Exchange.UnbindOk", roleResponse),
}

var queueMethods = [52]method{
	// Declare: reserved-1, queue, bits(passive, durable, exclusive, auto-delete, no-wait), arguments
	10: {name: "Queue.Declare", role: roleRequest, args: argsQueue, noWait: 4},
	11: {name: "Queue.DeclareOk", role: roleResponse, args: argsQueueDeclareOk, noWait: -1},
	20: {name: "Queue.Bind", role: roleRequest, args: argsQueueBind, noWait: 0},
	21: m("Queue.BindOk", roleResponse),
	// Purge: reserved-1, queue, bits(no-wait)
	30: {name: "Queue.Purge", role: roleRequest, args: argsQueue, noWait: 0},
	31: m("Queue.PurgeOk", roleResponse),
	// Delete: reserved-1, queue, bits(if-unused, if-empty, no-wait)
	40: {name: "Queue.Delete", role: roleRequest, args: argsQueue, noWait: 2},
	41: m("Queue.DeleteOk", roleResponse),
	50: {name: "Queue.Unbind", role: roleRequest, args: argsQueueBind, noWait: -1},
	51: m("Queue.UnbindOk", roleResponse),
}

var basicMethods = [121]method{
	10: m("Basic.Qos", roleRequest), 11: m("Basic.QosOk", roleResponse),
	// Consume: reserved-1, queue, consumer-tag, bits(no-local, no-ack, exclusive, no-wait), arguments
	20: {name: "Basic.Consume", role: roleRequest, args: argsQueue, skip: 1, noWait: 3},
	21: m("Basic.ConsumeOk", roleResponse),
	30: {name: "Basic.Cancel", role: roleRequest, args: argsConsumerTagNoWait, noWait: 0},
	31: m("Basic.CancelOk", roleResponse),
	40: {name: "Basic.Publish", role: roleAsync, args: argsPublish, noWait: -1},
	50: {name: "Basic.Return", role: roleAsync, args: argsReturn, noWait: -1},
	60: {name: "Basic.Deliver", role: roleAsync, args: argsDeliver, noWait: -1},
	// Get: reserved-1, queue, bits(no-ack)
	70: {name: "Basic.Get", role: roleRequest, args: argsQueue, noWait: -1},
	71: {name: "Basic.GetOk", role: roleResponse, args: argsGetOk, noWait: -1},
	72: m("Basic.GetEmpty", roleResponse),
	80: m("Basic.Ack", roleAsync), 90: m("Basic.Reject", roleAsync),
	100: m("Basic.RecoverAsync", roleAsync), 110: m("Basic.Recover", roleRequest),
	111: m("Basic.RecoverOk", roleResponse), 120: m("Basic.Nack", roleAsync),
}

var confirmMethods = [12]method{
	10: {name: "Confirm.Select", role: roleRequest, args: argsNoWaitOnly, noWait: 0},
	11: m("Confirm.SelectOk", roleResponse),
}

var txMethods = [32]method{
	10: m("Tx.Select", roleRequest), 11: m("Tx.SelectOk", roleResponse),
	20: m("Tx.Commit", roleRequest), 21: m("Tx.CommitOk", roleResponse),
	30: m("Tx.Rollback", roleRequest), 31: m("Tx.RollbackOk", roleResponse),
}

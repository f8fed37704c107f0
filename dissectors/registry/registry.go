// Package registry lists tapflow's L7 dissectors in sniff order: the engine
// offers a flow's first payload packets to each Check in this order and the
// first that claims the flow parses it. Binary protocols with a magic
// number or a self-checking frame come first, then length-prefixed ones,
// then text protocols from the strictest pattern to the loosest, so a
// looser Check never claims a flow a stricter one would have. This file is
// the one place a dissector is added.
package registry

import (
	"github.com/tapflow/tapflow/dissectors"
	"github.com/tapflow/tapflow/dissectors/amqp"
	"github.com/tapflow/tapflow/dissectors/dns"
	"github.com/tapflow/tapflow/dissectors/dubbo"
	"github.com/tapflow/tapflow/dissectors/http"
	"github.com/tapflow/tapflow/dissectors/http2"
	"github.com/tapflow/tapflow/dissectors/kafka"
	"github.com/tapflow/tapflow/dissectors/memcached"
	"github.com/tapflow/tapflow/dissectors/mongodb"
	"github.com/tapflow/tapflow/dissectors/mqtt"
	"github.com/tapflow/tapflow/dissectors/mysql"
	"github.com/tapflow/tapflow/dissectors/postgresql"
	"github.com/tapflow/tapflow/dissectors/redis"
	"github.com/tapflow/tapflow/dissectors/tls"
)

// All returns one value of every dissector, in sniff order. Dissectors are
// stateless, so the values may be shared by every worker.
func All() []dissectors.Dissector {
	return []dissectors.Dissector{
		// Magic numbers and self-checking frames.
		dubbo.New(), // 0xdabb
		tls.New(),   // handshake record 0x16 0x03 0x0X + hello
		amqp.New(),  // "AMQP" header or frames ending in 0xCE
		http2.New(), // connection preface, or frames with valid types and flags
		// Length-prefixed binary headers checked against the payload.
		mongodb.New(),
		kafka.New(),
		mysql.New(),
		postgresql.New(),
		mqtt.New(),
		dns.New(),
		// Text protocols, strictest first.
		http.New(),
		redis.New(),
		memcached.New(),
	}
}

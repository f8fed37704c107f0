// Package registry lists tapflow's L7 dissectors in sniff order: the engine
// offers a flow's first payload packets to each Check in this order and the
// first that claims the flow parses it. Protocols with a strong signature
// (magic numbers, fixed framing) come before those recognised by looser
// text patterns, so a looser Check never claims a flow a stricter one
// would have. This file is the one place a dissector is added.
package registry

import (
	"github.com/tapflow/tapflow/dissectors"
)

// All returns one value of every dissector, in sniff order. Dissectors are
// stateless, so the values may be shared by every worker.
func All() []dissectors.Dissector {
	return []dissectors.Dissector{}
}

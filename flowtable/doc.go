// Package flowtable keeps the flows one dataplane worker sees and turns them
// into FlowRecords: the stage after tap decoding and before L7 dissectors and
// storage.
//
// A Table is owned by exactly one goroutine (a worker); it holds no lock and
// shares no memory with other tables. Flows live in a preallocated slab
// addressed by index through an open-addressing index, so steady-state updates
// allocate nothing. Time is the packets' own timestamps: the table never
// reads the wall clock, so a replay behaves like the live capture it was.
//
// Direction follows architecture §3: the sender of a SYN is the client;
// without a SYN, the sender of a SYN-ACK is the server; otherwise the lower
// (well-known) port is the server. tx is client→server, rx server→client.
//
// Flows end by timeout (per TCP state), by table pressure (eviction of the
// flow closest to its deadline) or at Flush; a flow alive at a minute
// boundary is reported with close type 5 and carries on with fresh counters.
// Records leave in batches through the Sink given to New.
package flowtable

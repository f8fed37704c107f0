// Package memcached is the dissector for memcached's text and binary
// protocols over TCP (l7_protocol 82, "Memcached").
//
// Specs: the text protocol is memcached's doc/protocol.txt
// (https://github.com/memcached/memcached/blob/master/doc/protocol.txt); the
// binary protocol is https://github.com/memcached/memcached/wiki/BinaryProtocolRevamped.
//
// Parsed, per packet like DeepFlow's agent:
//
//   - Text requests: every command line in the segment (pipelining) is a
//     Request; storage commands' data blocks are skipped by their <bytes>
//     argument. request_type is the command (get, gets, set, add, replace,
//     append, prepend, cas, delete, incr, decr, touch, gat, gats, stats,
//     version, flush_all, verbosity, quit); request_resource is the command
//     line without its data block. Commands ending in "noreply", and quit,
//     get no reply and are Sessions. A known command with bad arguments is
//     still a Request (the server answers it with ERROR/CLIENT_ERROR).
//   - Text replies: the start of each reply is a Response. VALUE lines with
//     their data blocks up to END, and STAT lines up to END, are one reply.
//     STORED, NOT_STORED, EXISTS, NOT_FOUND, DELETED, TOUCHED, END (a miss),
//     OK, a number (incr/decr) and VERSION are ok; ERROR is a client error
//     (exception "ERROR"); CLIENT_ERROR <msg> is a client error and
//     SERVER_ERROR <msg> a server error, with <msg> as response_exception.
//     Text has no correlation id: responses pair with requests in order.
//   - Binary packets (magic 0x80 request, 0x81 response): one record per
//     packet in the segment, Key = opaque. request_type is the opcode's
//     text command name (get, set, getk, noop, sasl_auth…; "0x7e" for an
//     unknown opcode), request_resource the key. A response's status is
//     response_code; see binStatus for its mapping (key not found, key
//     exists and not stored are ok, as their text replies are) and its error
//     body is response_exception. Quiet opcodes (getq, setq…) are answered
//     only on a hit or an error, so they and their answers are Sessions. A
//     binary stats reply (one packet per statistic) is reported at its end
//     packet.
//
// A segment that does not start with a command or reply line (the rest of
// a data block) yields nothing. endpoint and request_domain stay empty.
//
// Not parsed: the meta commands of memcached 1.6 (mg, ms, md, ma, mn, me
// and their HD/VA/EN/NF/NS/EX/MN replies), memcached over UDP (its 8-byte
// frame header), SASL mechanisms' contents, values.
package memcached

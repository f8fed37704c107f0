// Package mysql is the MySQL / MariaDB client-server protocol dissector
// (l7_protocol 60, "MySQL").
//
// Spec: MySQL internals, "Client/Server Protocol"
// (https://dev.mysql.com/doc/dev/mysql-server/latest/PAGE_PROTOCOL.html):
// packet header (3-byte length, sequence id), command phase (COM_*),
// OK_Packet, ERR_Packet, EOF_Packet, Text Resultset, HandshakeV10,
// HandshakeResponse41, COM_QUERY with query attributes (MySQL 8.0.23+);
// MariaDB's extensions (https://mariadb.com/kb/en/clientserver-protocol/).
//
// Parsing is per packet, as DeepFlow's agent does, and stateless:
//
//   - client → server, seq 0: a command packet. Each one in the segment is a
//     Request named after its command (COM_QUERY, COM_STMT_PREPARE…);
//     COM_QUIT, COM_STMT_CLOSE and COM_STMT_SEND_LONG_DATA get no reply and
//     are Sessions, as in DeepFlow.
//   - client → server, seq 1: the HandshakeResponse41 is a Request "Login"
//     (resource: the database it names); an SSLRequest yields nothing.
//   - server → client, seq 1: the first packet of a reply is a Response: OK,
//     EOF, a result set's column count and any other first packet are ok,
//     an ERR packet gives the error code and message. The packet must fit in
//     the segment and a following packet must have seq 2.
//   - server → client, seq 2..10: a segment made of AuthMoreData packets
//     ending with an OK or ERR is the login's Response; anything else
//     (auth switch, rows, column definitions) yields nothing.
//   - the server greeting, rows, later packets of a result set, segments
//     continuing a long packet and TLS records (after an SSLRequest) yield
//     nothing.
//
// Responses pair with requests in order (no key).
//
// Field mapping (DeepFlow's):
//
//	request_type      command name: COM_QUERY, COM_INIT_DB, COM_STMT_PREPARE…; Login
//	request_resource  SQL text (COM_QUERY, COM_STMT_PREPARE; MySQL 8 query
//	                  attributes 0x00 0x01 skipped), schema (COM_INIT_DB, Login)
//	endpoint          DML keyword and first table: SELECT users, INSERT orders,
//	                  UPDATE t, DELETE t, REPLACE t; the keyword alone when
//	                  no table is found
//	response_code     ERR packet's error code
//	response_status   ERR 1045, 1049, 1054, 1064, 1146 → client error (4),
//	                  any other ERR → server error (3), else ok (0)
//	response_exception ERR packet's message (after the SQLSTATE)
//	len               packet length + 4 (request, OK, ERR); a result set's
//	                  first segment length
//
// Not parsed: the compressed protocol, COM_STMT_EXECUTE parameters, result
// set contents (row counts), ERR packets after the first packet of a reply,
// replication streams, and anything inside TLS.
package mysql

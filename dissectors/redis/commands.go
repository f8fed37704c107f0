package redis

// commands are the Redis 7 top-level command names (upper case). Parse
// accepts an inline command only when its first word is one of them, so
// that the text of a value split across segments is not taken for a
// command.
var commands = func() map[string]struct{} {
	m := make(map[string]struct{}, len(commandList))
	for _, c := range commandList {
		m[c] = struct{}{}
	}
	return m
}()

var commandList = [...]string{
	// strings
	"APPEND", "DECR", "DECRBY", "GET", "GETDEL", "GETEX", "GETRANGE", "GETSET", "INCR", "INCRBY",
	"INCRBYFLOAT", "LCS", "MGET", "MSET", "MSETNX", "PSETEX", "SET", "SETEX", "SETNX", "SETRANGE",
	"STRLEN", "SUBSTR",
	// keys
	"COPY", "DEL", "DUMP", "EXISTS", "EXPIRE", "EXPIREAT", "EXPIRETIME", "KEYS", "MIGRATE", "MOVE",
	"OBJECT", "PERSIST", "PEXPIRE", "PEXPIREAT", "PEXPIRETIME", "PTTL", "RANDOMKEY", "RENAME",
	"RENAMENX", "RESTORE", "SCAN", "SORT", "SORT_RO", "TOUCH", "TTL", "TYPE", "UNLINK", "WAIT", "WAITAOF",
	// hashes
	"HDEL", "HEXISTS", "HGET", "HGETALL", "HINCRBY", "HINCRBYFLOAT", "HKEYS", "HLEN", "HMGET", "HMSET",
	"HRANDFIELD", "HSCAN", "HSET", "HSETNX", "HSTRLEN", "HVALS", "HEXPIRE", "HPEXPIRE", "HEXPIREAT",
	"HPEXPIREAT", "HTTL", "HPTTL", "HEXPIRETIME", "HPEXPIRETIME", "HPERSIST", "HGETDEL", "HGETEX", "HSETEX",
	// lists
	"BLMOVE", "BLMPOP", "BLPOP", "BRPOP", "BRPOPLPUSH", "LINDEX", "LINSERT", "LLEN", "LMOVE", "LMPOP",
	"LPOP", "LPOS", "LPUSH", "LPUSHX", "LRANGE", "LREM", "LSET", "LTRIM", "RPOP", "RPOPLPUSH", "RPUSH", "RPUSHX",
	// sets
	"SADD", "SCARD", "SDIFF", "SDIFFSTORE", "SINTER", "SINTERCARD", "SINTERSTORE", "SISMEMBER", "SMEMBERS",
	"SMISMEMBER", "SMOVE", "SPOP", "SRANDMEMBER", "SREM", "SSCAN", "SUNION", "SUNIONSTORE",
	// sorted sets
	"BZMPOP", "BZPOPMAX", "BZPOPMIN", "ZADD", "ZCARD", "ZCOUNT", "ZDIFF", "ZDIFFSTORE", "ZINCRBY", "ZINTER",
	"ZINTERCARD", "ZINTERSTORE", "ZLEXCOUNT", "ZMPOP", "ZMSCORE", "ZPOPMAX", "ZPOPMIN", "ZRANDMEMBER",
	"ZRANGE", "ZRANGEBYLEX", "ZRANGEBYSCORE", "ZRANGESTORE", "ZRANK", "ZREM", "ZREMRANGEBYLEX",
	"ZREMRANGEBYRANK", "ZREMRANGEBYSCORE", "ZREVRANGE", "ZREVRANGEBYLEX", "ZREVRANGEBYSCORE", "ZREVRANK",
	"ZSCAN", "ZSCORE", "ZUNION", "ZUNIONSTORE",
	// hyperloglog, geo, streams, bitmaps
	"PFADD", "PFCOUNT", "PFDEBUG", "PFMERGE", "PFSELFTEST",
	"GEOADD", "GEODIST", "GEOHASH", "GEOPOS", "GEORADIUS", "GEORADIUS_RO", "GEORADIUSBYMEMBER",
	"GEORADIUSBYMEMBER_RO", "GEOSEARCH", "GEOSEARCHSTORE",
	"XACK", "XADD", "XAUTOCLAIM", "XCLAIM", "XDEL", "XGROUP", "XINFO", "XLEN", "XPENDING", "XRANGE", "XREAD",
	"XREADGROUP", "XREVRANGE", "XSETID", "XTRIM",
	"BITCOUNT", "BITFIELD", "BITFIELD_RO", "BITOP", "BITPOS", "GETBIT", "SETBIT",
	// pub/sub, transactions, scripting
	"PSUBSCRIBE", "PUBLISH", "PUBSUB", "PUNSUBSCRIBE", "SPUBLISH", "SSUBSCRIBE", "SUBSCRIBE", "SUNSUBSCRIBE",
	"UNSUBSCRIBE",
	"DISCARD", "EXEC", "MULTI", "UNWATCH", "WATCH",
	"EVAL", "EVALSHA", "EVALSHA_RO", "EVAL_RO", "FCALL", "FCALL_RO", "FUNCTION", "SCRIPT",
	// connection, server, cluster
	"AUTH", "CLIENT", "ECHO", "HELLO", "PING", "QUIT", "RESET", "SELECT",
	"ACL", "BGREWRITEAOF", "BGSAVE", "COMMAND", "CONFIG", "DBSIZE", "DEBUG", "FAILOVER", "FLUSHALL",
	"FLUSHDB", "INFO", "LASTSAVE", "LATENCY", "LOLWUT", "MEMORY", "MODULE", "MONITOR", "PSYNC", "REPLCONF",
	"REPLICAOF", "RESTORE-ASKING", "ROLE", "SAVE", "SHUTDOWN", "SLAVEOF", "SLOWLOG", "SWAPDB", "SYNC", "TIME",
	"ASKING", "CLUSTER", "READONLY", "READWRITE", "SENTINEL",
}

// notDistinctive are Redis commands that are also words of other line
// protocols: memcached's text protocol (get, set, append, incr, decr,
// touch), SMTP/POP3/FTP/Varnish (QUIT, AUTH, TYPE), NATS (INFO, PING),
// Ookla speedtest (HELLO), STOMP (SUBSCRIBE, UNSUBSCRIBE), beanstalkd
// (watch, touch), Gearman (shutdown), ZooKeeper's four-letter words (dump),
// IRC (PING :server), Munin (config), clamd (SCAN, SHUTDOWN). An inline
// line starting with one of them does not
// make Check claim a flow; "PING" alone on its line does.
var notDistinctive = [...]string{
	"GET", "SET", "APPEND", "INCR", "DECR", "TOUCH", "QUIT", "AUTH", "TYPE", "INFO", "PING", "HELLO",
	"SUBSCRIBE", "UNSUBSCRIBE", "PSUBSCRIBE", "PUNSUBSCRIBE", "WATCH", "SHUTDOWN", "DUMP", "SELECT",
	"TIME", "ECHO", "RESET", "CONFIG", "SCAN",
}

// distinctiveInline reports whether an inline command named w marks the
// flow as Redis: a known command that no other line protocol uses.
func distinctiveInline(w []byte) bool {
	if !knownCommand(w) {
		return false
	}
	for _, c := range notDistinctive {
		if equalFold(w, c) {
			return false
		}
	}
	return true
}

// maxCommandLen is the longest command name looked up (longer words are
// not commands; the upper-case copy lives on the stack).
const maxCommandLen = 24

// knownCommand reports whether name (any case) is a Redis command. It does
// not allocate: the map lookup with a converted byte slice is optimised by
// the compiler.
func knownCommand(name []byte) bool {
	if len(name) == 0 || len(name) > maxCommandLen {
		return false
	}
	var up [maxCommandLen]byte
	for i, c := range name {
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		up[i] = c
	}
	_, ok := commands[string(up[:len(name)])]
	return ok
}

// commandLike reports whether name looks like a command name: a letter,
// then letters, digits, '_', '-', '.' (module commands such as `JSON.GET`)
// or '|' (`CONFIG|GET` in ACL rules).
func commandLike(name []byte) bool {
	if len(name) == 0 || len(name) > maxCommandLen || !isLetter(name[0]) {
		return false
	}
	for _, c := range name {
		if !isLetter(c) && (c < '0' || c > '9') && c != '_' && c != '-' && c != '.' && c != '|' {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// equalFold compares an ASCII word with an upper-case name.
func equalFold(w []byte, name string) bool {
	if len(w) != len(name) {
		return false
	}
	for i := range len(w) {
		c := w[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != name[i] {
			return false
		}
	}
	return true
}

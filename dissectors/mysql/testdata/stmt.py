# Minimal MySQL client: native-password login, then binary-protocol commands.
import socket, hashlib, struct, time
s = socket.create_connection(("127.0.0.1", 3306))
buf = b""
def readpkt():
    global buf
    while len(buf) < 4 or len(buf) < 4 + (buf[0] | buf[1] << 8 | buf[2] << 16):
        d = s.recv(65536)
        if not d: raise EOFError
        buf += d
    n = buf[0] | buf[1] << 8 | buf[2] << 16
    p = buf[4:4+n]; seq = buf[3]; buf = buf[4+n:]
    return seq, p
def send(seq, payload):
    s.sendall(struct.pack("<I", len(payload))[:3] + bytes([seq]) + payload)
def drain():
    time.sleep(0.15)
    s.settimeout(0.3)
    global buf
    try:
        while True:
            d = s.recv(65536)
            if not d: break
    except socket.timeout: pass
    s.settimeout(None); buf = b""
seq, g = readpkt()
ver_end = g.index(b"\0", 1)
p = ver_end + 1 + 4
salt1 = g[p:p+8]; p += 8 + 1
caps = struct.unpack("<H", g[p:p+2])[0]; p += 2 + 1 + 2
caps |= struct.unpack("<H", g[p:p+2])[0] << 16; p += 2
alen = g[p]; p += 1 + 10
salt2 = g[p:p+max(13, alen - 8) - 1]
salt = salt1 + salt2
pw = b"secret"
h1 = hashlib.sha1(pw).digest(); h2 = hashlib.sha1(h1).digest()
h3 = hashlib.sha1(salt + h2).digest()
scr = bytes(a ^ b for a, b in zip(h1, h3))
CLIENT = 0x00000200 | 0x00008000 | 0x00000008 | 0x00080000 | 0x00000001 | 0x00020000 | 0x00010000
resp = struct.pack("<IIB", CLIENT, 1 << 24, 33) + b"\0" * 23 + b"app\0" + bytes([len(scr)]) + scr + b"shop\0" + b"mysql_native_password\0"
send(1, resp)
print(readpkt())
def cmd(b):
    send(0, b); drain()
cmd(b"\x0e")                       # COM_PING
cmd(b"\x02shop")                   # COM_INIT_DB
cmd(b"\x04users\0")                # COM_FIELD_LIST
cmd(b"\x16SELECT name FROM users WHERE id = ?")   # COM_STMT_PREPARE -> stmt 1
# COM_STMT_EXECUTE stmt 1, no cursor, iteration 1, null bitmap, new-params-bound, type LONG, value 7
cmd(b"\x17" + struct.pack("<IBI", 1, 0, 1) + b"\0" + b"\x01" + b"\x03\x00" + struct.pack("<i", 7))
cmd(b"\x16SELECT * FROM nosuch WHERE id = ?")      # error 1146
cmd(b"\x19" + struct.pack("<I", 1)[:4])            # COM_STMT_CLOSE (no response)
cmd(b"\x03SELECT SLEEP(0)")
cmd(b"\x01")                                       # COM_QUIT
s.close()

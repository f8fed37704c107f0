import socket, struct
def q(id, name, qtype):
    h = struct.pack(">HHHHHH", id, 0x0100, 1, 0, 0, 0)
    b = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
    m = h + b + struct.pack(">HH", qtype, 1)
    return struct.pack(">H", len(m)) + m
s = socket.create_connection(("127.0.0.1", 53))
s.sendall(q(0x1111, "www.example.test", 1) + q(0x2222, "www.example.test", 28) + q(0x3333, "missing.example.test", 1))
import time; time.sleep(0.5)
data = b""
s.settimeout(1)
try:
    while True:
        d = s.recv(65535)
        if not d: break
        data += d
except socket.timeout:
    pass
print(len(data))
s.close()

#!/usr/bin/env python3
"""Stand-in for systemd's notify socket in the package test.

Appends every sd_notify message to OUT, one line each, and answers systemd-notify's
barrier: BARRIER=1 arrives with a pipe descriptor that the receiver must close.
Usage: notify-listener.py SOCKET_PATH OUT_FILE
"""
import array
import os
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
try:
    os.unlink(path)
except FileNotFoundError:
    pass
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
os.chmod(path, 0o777)  # the service user sends, not root
with open(out, "a", buffering=1) as log:
    while True:
        msg, ancdata, _flags, _addr = sock.recvmsg(4096, socket.CMSG_SPACE(64 * 4))
        for level, kind, data in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds = array.array("i")
                fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
                for fd in fds:
                    os.close(fd)
        log.write(msg.decode(errors="replace").replace("\n", " ") + "\n")

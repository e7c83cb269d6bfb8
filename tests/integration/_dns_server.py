#!/usr/bin/env python3
"""A tiny authoritative DNS server for the tests: UDP on ADDR:53, answers A
queries for the names given (NAME=IPV4), an empty answer for their AAAA, and
NXDOMAIN for every other name. Each question is logged as "QNAME TYPE".
Only for the tests' own network namespace (the runner gives each script one).

Usage: _dns_server.py --log FILE [--addr 127.0.0.1] NAME=IPV4...
"""
import argparse
import socket
import struct


def qname(msg, at):
    labels = []
    while msg[at]:
        n = msg[at]
        labels.append(msg[at + 1:at + 1 + n].decode())
        at += 1 + n
    return ".".join(labels), at + 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--addr", default="127.0.0.1")
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    table = dict(n.lower().split("=", 1) for n in a.names)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a.addr, 53))
    with open(a.log, "a", buffering=1) as log:
        log.write("ready\n")
        while True:
            msg, peer = s.recvfrom(512)
            if len(msg) < 12:
                continue
            name, end = qname(msg, 12)
            qtype = struct.unpack("!H", msg[end:end + 2])[0]
            log.write("%s %d\n" % (name, qtype))
            known = name.lower() in table
            answers = b""
            if known and qtype == 1:
                answers = struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton(table[name.lower()])
            flags = 0x8180 if known else 0x8183          # response, RD, RA; NXDOMAIN
            head = msg[:2] + struct.pack("!HHHHH", flags, 1, 1 if answers else 0, 0, 0)
            s.sendto(head + msg[12:end + 4] + answers, peer)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Capture listener for the real-clients test (standard library only).

    capture.py --dir DIR [--duration SECS]
        Listens on 127.0.0.1, UDP and TCP, on one free port chosen by the
        system, and prints that port on a line of its own once it is ready
        (also written to DIR/port). Every SIP message received is written,
        byte for byte, to DIR/msgs/LABEL/NNNN-PROTO-METHOD.sip, where LABEL is
        the content of DIR/label when the message arrived (the test script
        writes the name of the client it is about to run there). Over TCP a
        message is framed by its Content-Length.

        Each request gets a minimal answer so that the client goes on:
        REGISTER, OPTIONS, BYE, MESSAGE, CANCEL, NOTIFY, INFO, UPDATE, PRACK
        -> 200 (REGISTER echoes its Contacts with expires); INVITE -> 100 then
        200 with Contact and an SDP answer; ACK -> nothing; anything else ->
        501. Responses are built RFC 3261 8.2.6 style: every Via (the top one
        with received and a filled-in rport, RFC 3581), From, To (plus a tag),
        Call-ID, CSeq. Over UDP they go to the source address, at the rport or
        the Via port (RFC 3261 18.2.2); over TCP back on the connection.

        It exits after SECS seconds (default 50), when DIR/stop appears, or on
        SIGTERM/SIGINT. DIR/capture.log lists what came in and what went out.

    capture.py --free-port KIND...
        Prints, one a line, a port for each KIND that is free right now (the
        system picks it by a bind to port 0; all are held until printed, so
        they differ): "sip" is free on 127.0.0.1 for UDP and TCP (a client's
        own SIP port), "media" on 127.0.0.1 for UDP with the port two above it
        too (sipp's -mp binds both), "control" for UDP on every address
        (sipp's -cp).
"""
import argparse
import hashlib
import os
import re
import selectors
import signal
import socket
import sys
import time

HOST = "127.0.0.1"

COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact",
           "l": "content-length", "c": "content-type", "e": "content-encoding",
           "k": "supported", "s": "subject", "o": "event", "u": "allow-events",
           "r": "refer-to", "b": "referred-by", "x": "session-expires"}

OK_METHODS = {"REGISTER", "OPTIONS", "BYE", "MESSAGE", "CANCEL", "NOTIFY",
              "INFO", "UPDATE", "PRACK"}


def bind_pair(port=0):
    """A UDP and a TCP socket on the same port of HOST (port 0: the system picks)."""
    for _ in range(50):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind((HOST, port))
        p = udp.getsockname()[1]
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            tcp.bind((HOST, p))
        except OSError:
            udp.close()
            tcp.close()
            if port:
                raise
            continue
        return udp, tcp, p
    raise OSError("no port free for both UDP and TCP")


def free_port(kind):
    """Sockets holding a port free for KIND (see --free-port), and the port."""
    if kind == "sip":
        udp, tcp, port = bind_pair()
        return [udp, tcp], port
    if kind == "control":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", 0))
        return [s], s.getsockname()[1]
    for _ in range(50):
        a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        a.bind((HOST, 0))
        port = a.getsockname()[1]
        b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            b.bind((HOST, port + 2))
        except (OSError, OverflowError):
            a.close()
            b.close()
            continue
        return [a, b], port
    raise OSError("no media port pair free")


class Message:
    """Just enough of a SIP message to answer it."""

    def __init__(self, data):
        self.raw = data
        head, _, self.body = data.partition(b"\r\n\r\n")
        if not _:
            head, _, self.body = data.partition(b"\n\n")
        lines = head.decode("utf-8", "replace").replace("\r\n", "\n").split("\n")
        while lines and not lines[0].strip():
            lines.pop(0)
        self.start = lines[0] if lines else ""
        self.headers = []          # (lower-case long name, name as sent, value)
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and self.headers:
                n, sent, v = self.headers[-1]
                self.headers[-1] = (n, sent, v + " " + line.strip())
                continue
            name, sep, value = line.partition(":")
            if not sep:
                continue
            name = name.strip()
            low = name.lower()
            self.headers.append((COMPACT.get(low, low), name, value.strip()))
        parts = self.start.split(" ", 2)
        self.is_request = not self.start.startswith("SIP/")
        self.method = parts[0] if self.is_request and parts else ""
        self.status = parts[1] if not self.is_request and len(parts) > 1 else ""

    def all(self, name):
        return [v for n, _, v in self.headers if n == name]

    def first(self, name, default=None):
        vals = self.all(name)
        return vals[0] if vals else default

    def vias(self):
        """Every Via value, splitting comma-separated lists."""
        out = []
        for v in self.all("via"):
            out.extend(x.strip() for x in split_commas(v) if x.strip())
        return out

    def kind(self):
        return self.method if self.is_request else "resp" + self.status


def split_commas(value):
    """Split a header value at commas outside quotes and <>."""
    out, cur, quote, angle = [], "", False, False
    for ch in value:
        if ch == '"':
            quote = not quote
        elif ch == "<" and not quote:
            angle = True
        elif ch == ">" and not quote:
            angle = False
        if ch == "," and not quote and not angle:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return out


def via_fields(via):
    """(sent-by port or None, params dict) of one Via value."""
    m = re.match(r"\s*SIP\s*/\s*2\.0\s*/\s*[A-Za-z]+\s+([^;]+)(.*)$", via, re.I)
    if not m:
        return None, {}
    sent_by = m.group(1).strip()
    port = None
    if sent_by.startswith("["):
        rest = sent_by.split("]", 1)[1]
        if rest.startswith(":"):
            port = rest[1:].strip()
    elif ":" in sent_by:
        port = sent_by.rsplit(":", 1)[1].strip()
    params = {}
    for p in m.group(2).split(";"):
        if p.strip():
            k, _, v = p.partition("=")
            params[k.strip().lower()] = v.strip() if _ else None
    return port, params


def has_tag(addr):
    after = addr.rsplit(">", 1)[1] if ">" in addr else addr
    return re.search(r";\s*tag\s*=", after, re.I) is not None


class Capture:
    def __init__(self, outdir, duration):
        self.dir = outdir
        self.deadline = time.monotonic() + duration
        self.seq = 0
        self.udp, self.tcp, self.port = bind_pair()
        self.tcp.listen(16)
        self.media = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.media.bind((HOST, 0))      # RTP sink named in our SDP answers
        self.sel = selectors.DefaultSelector()
        for s in (self.udp, self.tcp, self.media):
            s.setblocking(False)
        self.sel.register(self.udp, selectors.EVENT_READ, ("udp", None))
        self.sel.register(self.tcp, selectors.EVENT_READ, ("listen", None))
        self.sel.register(self.media, selectors.EVENT_READ, ("media", None))
        self.conns = {}
        self.log = open(os.path.join(outdir, "capture.log"), "a", buffering=1)
        self.stopping = False

    def note(self, text):
        self.log.write("%.3f %s\n" % (time.monotonic(), text))

    def label(self):
        try:
            with open(os.path.join(self.dir, "label")) as f:
                lab = f.read().strip()
        except OSError:
            lab = ""
        return re.sub(r"[^A-Za-z0-9_.-]", "_", lab) or "unlabelled"

    def save(self, data, proto, peer):
        lab = self.label()
        self.seq += 1
        msg = Message(data)
        kind = re.sub(r"[^A-Za-z0-9_-]", "_", msg.kind())[:24] or "unknown"
        d = os.path.join(self.dir, "msgs", lab)
        os.makedirs(d, exist_ok=True)
        name = "%04d-%s-%s.sip" % (self.seq, proto, kind)
        tmp = os.path.join(d, "." + name)
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, os.path.join(d, name))
        self.note("recv %s %s:%d %s/%s %s" % (proto, peer[0], peer[1], lab, name,
                                              msg.start))
        return msg

    # -- answers -----------------------------------------------------------

    def response(self, req, status, phrase, peer, proto, extra=(), body=b"",
                 ctype=None):
        vias = req.vias()
        lines = ["SIP/2.0 %d %s" % (status, phrase)]
        for i, v in enumerate(vias):
            if i == 0 and proto == "udp":
                _, params = via_fields(v)
                if "rport" in params and not params["rport"]:
                    v = re.sub(r";\s*rport(?=;|$)", ";rport=%d" % peer[1], v, count=1,
                               flags=re.I)
                if "received" not in params:
                    v += ";received=" + peer[0]
            lines.append("Via: " + v)
        frm = req.first("from", "")
        to = req.first("to", "")
        if status > 100 and to and not has_tag(to):
            key = (req.first("call-id", "") + req.first("cseq", "") + frm).encode()
            to += ";tag=" + hashlib.sha1(key).hexdigest()[:10]
        lines += ["From: " + frm, "To: " + to, "Call-ID: " + req.first("call-id", ""),
                  "CSeq: " + req.first("cseq", "")]
        lines += list(extra)
        lines.append("Server: sipsrv-realclients-capture")
        if ctype:
            lines.append("Content-Type: " + ctype)
        lines.append("Content-Length: %d" % len(body))
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    def sdp_answer(self, req):
        pt, rtpmap = "0", "a=rtpmap:0 PCMU/8000"
        offer = req.body.decode("utf-8", "replace")
        m = re.search(r"^m=audio\s+\d+\s+\S+\s+(\d+)", offer, re.M)
        if m:
            pt = m.group(1)
            r = re.search(r"^a=rtpmap:%s\s+(\S+)" % pt, offer, re.M)
            rtpmap = "a=rtpmap:%s %s" % (pt, r.group(1)) if r else ""
        mport = self.media.getsockname()[1]
        lines = ["v=0", "o=capture 1 1 IN IP4 " + HOST, "s=-", "c=IN IP4 " + HOST,
                 "t=0 0", "m=audio %d RTP/AVP %s" % (mport, pt)]
        if rtpmap:
            lines.append(rtpmap)
        lines.append("a=sendrecv")
        return ("\r\n".join(lines) + "\r\n").encode()

    def answers(self, req, peer, proto):
        me = "<sip:capture@%s:%d;transport=%s>" % (HOST, self.port, proto)
        meth = req.method.upper()
        if meth == "ACK":
            return []
        if meth == "INVITE":
            return [self.response(req, 100, "Trying", peer, proto),
                    self.response(req, 200, "OK", peer, proto,
                                  extra=["Contact: " + me], body=self.sdp_answer(req),
                                  ctype="application/sdp")]
        if meth == "REGISTER":
            extra = []
            hdr_exp = req.first("expires")
            for c in req.all("contact"):
                for v in split_commas(c):
                    v = v.strip()
                    if not v or v == "*":
                        continue
                    m = re.search(r";\s*expires\s*=\s*(\d+)", v.rsplit(">", 1)[-1], re.I)
                    exp = int(m.group(1)) if m else int(hdr_exp) if (
                        hdr_exp and hdr_exp.strip().isdigit()) else 3600
                    if exp == 0:
                        continue
                    if not m:
                        v += ";expires=%d" % exp
                    extra.append("Contact: " + v)
            return [self.response(req, 200, "OK", peer, proto, extra=extra)]
        if meth in OK_METHODS:
            extra = ["Contact: " + me] if meth == "OPTIONS" else []
            if meth == "OPTIONS":
                extra.append("Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, MESSAGE")
            return [self.response(req, 200, "OK", peer, proto, extra=extra)]
        return [self.response(req, 501, "Not Implemented", peer, proto)]

    def udp_dest(self, req, peer):
        vias = req.vias()
        if not vias:
            return peer
        port, params = via_fields(vias[0])
        if "rport" in params:
            return peer
        try:
            return (peer[0], int(port) if port else 5060)
        except ValueError:
            return peer

    def handle(self, data, proto, peer, conn=None):
        msg = self.save(data, proto, peer)
        if not msg.is_request:
            return
        dest = self.udp_dest(msg, peer) if proto == "udp" else peer
        for rsp in self.answers(msg, peer, proto):
            try:
                if proto == "udp":
                    self.udp.sendto(rsp, dest)
                else:
                    conn.sendall(rsp)
                self.note("sent %s %s:%d %s" % (proto, dest[0], dest[1],
                                                rsp.split(b"\r\n", 1)[0].decode()))
            except OSError as e:
                self.note("send failed %s %s: %s" % (proto, dest, e))

    # -- transports --------------------------------------------------------

    def on_udp(self):
        while True:
            try:
                data, peer = self.udp.recvfrom(65535)
            except BlockingIOError:
                return
            if not data.strip():            # CRLF keep-alive (RFC 5626 4.4.2)
                self.note("keepalive udp %s:%d" % peer)
                continue
            self.handle(data, "udp", peer)

    def on_accept(self):
        try:
            conn, peer = self.tcp.accept()
        except BlockingIOError:
            return
        conn.setblocking(True)
        conn.settimeout(2.0)
        self.conns[conn] = [b"", peer]
        self.sel.register(conn, selectors.EVENT_READ, ("conn", conn))
        self.note("accept tcp %s:%d" % peer)

    def close_conn(self, conn):
        self.sel.unregister(conn)
        self.conns.pop(conn, None)
        conn.close()

    def on_conn(self, conn):
        try:
            chunk = conn.recv(65536)
        except OSError:
            chunk = b""
        if not chunk:
            self.close_conn(conn)
            return
        st = self.conns[conn]
        st[0] += chunk
        while True:
            buf = st[0]
            if buf.startswith(b"\r\n\r\n"):      # RFC 5626 ping: answer pong
                st[0] = buf[4:]
                self.note("ping tcp %s:%d" % st[1])
                conn.sendall(b"\r\n")
                continue
            stripped = buf.lstrip(b"\r\n")
            if not stripped:
                return                           # maybe the start of a ping
            if len(stripped) != len(buf):        # stray CRLFs between messages
                st[0] = buf = stripped
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = buf[:end].decode("utf-8", "replace")
            m = re.search(r"^(?:content-length|l)[ \t]*:[ \t]*(\d+)", head, re.I | re.M)
            clen = int(m.group(1)) if m else 0
            total = end + 4 + clen
            if len(buf) < total:
                return
            st[0] = buf[total:]
            self.handle(buf[:total], "tcp", st[1], conn)

    def run(self):
        stop_file = os.path.join(self.dir, "stop")
        while not self.stopping:
            left = self.deadline - time.monotonic()
            if left <= 0:
                self.note("duration reached")
                break
            if os.path.exists(stop_file):
                self.note("stop file")
                break
            for key, _ in self.sel.select(timeout=min(left, 0.1)):
                what, conn = key.data
                if what == "udp":
                    self.on_udp()
                elif what == "listen":
                    self.on_accept()
                elif what == "conn":
                    self.on_conn(conn)
                else:
                    try:
                        self.media.recv(65535)
                    except OSError:
                        pass
        for conn in list(self.conns):
            self.close_conn(conn)
        self.note("exit")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir")
    ap.add_argument("--duration", type=float, default=50.0)
    ap.add_argument("--free-port", nargs="+", choices=("sip", "media", "control"))
    args = ap.parse_args()
    if args.free_port:
        held, ports = [], []
        for kind in args.free_port:
            socks, port = free_port(kind)
            held += socks
            ports.append(port)
        print("\n".join(str(p) for p in ports))
        for s in held:
            s.close()
        return 0
    if not args.dir:
        ap.error("--dir is required")
    os.makedirs(os.path.join(args.dir, "msgs"), exist_ok=True)
    cap = Capture(args.dir, args.duration)

    def stop(*_):
        cap.stopping = True
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    tmp = os.path.join(args.dir, ".port")
    with open(tmp, "w") as f:
        f.write("%d\n" % cap.port)
    os.rename(tmp, os.path.join(args.dir, "port"))
    print(cap.port, flush=True)
    cap.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())

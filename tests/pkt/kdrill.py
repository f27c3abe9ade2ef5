#!/usr/bin/python3
"""kdrill: runs a synq drill script against the running Linux kernel.

usage: unshare -n /usr/bin/python3 tests/pkt/kdrill.py [OPTIONS] SCRIPT.pkt

The same script that `synq drill` runs against synq in virtual time is replayed here, in
real time, against the kernel's own TCP: packets are written to and sniffed from a TUN
device, the system calls are the kernel's. Multi-flow scripts (ports on packet lines,
`< 40001>8080 S 0:0(0) ...`) work too, which upstream packetdrill cannot do.
tests/pkt/test_kernel_drill.sh (run by `make test`) runs every tests/pkt/*.pkt this way.

Safety. kdrill changes network state, so it refuses to run (exit 2) unless it is in a fresh
network namespace: one that a parent process is not in (nor PID 1), with no device but lo
and no TCP socket.
Everything it does stays in that namespace: a TUN device kd0 (192.168.0.1, peer 192.0.2.1),
lo up, IPv6 off (no router solicitations), and the script's sysctls. Only `net.*` names
are written; /proc/sys/net belongs to the namespace (global net settings are not even visible
in a namespace other than the first one), so the host's settings are never touched.
It reads /proc/self/net/{dev,tcp,netstat,snmp}, /proc/sys/net and the ns/net link and stat
of its ancestors in /proc, and nothing else. It runs at real-time priority (SCHED_FIFO 10,
its own process only) when allowed, so that a loaded machine delays its events less; it
sleeps nearly all the time and every wait is bounded.

Options:
  --tolerance-us N        early/late allowance in microseconds (default 10000, see Timing)
  --tolerance-percent P   late allowance as a share of the gap (default 12.5, see Timing)
  --verbose               trace every event, packet and call, then the kernel's counters
  --help                  this text
A script's own `--tolerance_usecs=N` / `--tolerance_percent=P` lines take precedence.

Output and exit status. A passing script prints `SCRIPT: ok (N events)`; a failing one
prints one line `SCRIPT:LINE: expected ..., got ...` (packets in script notation, sequence
numbers relative, as synq drill prints them). Exit status 0 = passed, 1 = failed (including
a parse error or a feature kdrill lacks), 2 = bad usage or not in a fresh network namespace.

The language is synq drill's (docs/drill.md): absolute, relative (`+0.1`), range (`1~2`) and
`*` times; `<` / `>` TCP packets with optional ports, flags, start:end(len), ack, win, urg
and options (mss, nop, eol, sackOK, wscale, TS, sack; `<...>` skips the check); system
calls socket, bind, listen, accept/accept4, connect, read/recv, write/send, close, shutdown,
fcntl, setsockopt/getsockopt (int options; SO_ERROR values as errno names), poll; blocking
calls with `...END` (the script goes on while the call waits; it must return at END);
`sysctl -q name=value` commands. Sequence numbers are mapped per flow exactly as synq drill
maps them, so one script means the same on both. bind(fd, ..., ...) is 192.168.0.1:8080,
connect(fd, ..., ...) 192.0.2.1:8080; the default flow of the server side is 40000>8080.

Checks, as synq drill makes them: an outbound packet must match flags, seq, ack, length, urg,
the window if the line gives `win`, and the options (TS values excepted). Stricter than
packetdrill about silence: a packet no `>` line took fails the script at the next event
that comes more than --tolerance-us after it. A call without `...` must return at once
(within --tolerance-us); one with `...END` at END.

Timing, and why these defaults (the kernel has HZ=250: a jiffy is 4 ms).
  * A packet the kernel sends is timed by the kernel itself (SO_TIMESTAMPNS on a packet
    socket), so kdrill's own scheduling does not blur it.
  * Early: an outbound packet may come at most --tolerance-us before its time. Kernel
    timers are never early but for the jiffy rounding of the moment they were armed
    (< 4 ms), so a packet earlier than that is a real difference.
  * Late: at most max(--tolerance-us, P% of the gap) after its time (for a range `a~b`,
    --tolerance-us after b), plus however late after its script time kdrill made its
    previous event (it waits for late packets, and may itself be up to --tolerance-us
    late, see below): the kernel's answer to that event is that much later. Request, retransmission and keepalive timers sit on the
    kernel's timer wheel, which files a timer of delay d on a level whose slots are at most
    8/63 of d wide (~12.5%: 32 ms for 1 and 2 s, 256 ms for 4 to 16 s, 2.048 s for 32 and
    64 s) and fires it at the end of its slot, up to one slot late. The gap is the time
    since the previous event of the same flow or the previous call or command: packetdrill
    counts any event, the same thing on one flow, but with several flows another flow's
    packets do not shorten this flow's timer. Lateness adds up along a chain of timers
    (1 s, then 2 s, ...): a script waiting for the 5th timer of a chain needs a range
    (b38-syn-schedule) or a probe after the fact (b12-synack-schedule's ACK at 70 s).
  * kdrill's own events (injected packets, calls, commands) must start within
    --tolerance-us of their time, and a call without `...` must take less than that; if
    kdrill is too late (not the kernel: a call that slept in the kernel is the kernel's)
    the script fails with "kdrill was late, no verdict" instead of judging the kernel on a
    skewed schedule; run it again (test_kernel_drill.sh does). 10 ms = one jiffy + kdrill's
    wake-up latency (on a 2-core VM with 3 CPU hogs, p99 4.7 ms at normal priority, 0.15 ms
    at SCHED_FIFO, but stalls of ~16 ms happen, the VM's, whatever the priority); it also
    takes the kernel's delayed ACK of a FIN (b25, b26), 1 or 2 jiffies after the FIN.
  * Every wait is bounded: by the window of the line waited for, `*` by 60 s, a blocked
    call by its END plus its tolerance, a call without `...` by 2 s, the whole script by the
    sum of its times + 60 s.
"""

import ctypes
import errno
import fcntl
import os
import resource
import select
import signal
import socket
import struct
import sys
import threading
import time

LOCAL_IP = '192.168.0.1'
REMOTE_IP = '192.0.2.1'
SCRIPT_PORT = 8080       # bind() and connect() with `...`
DEFAULT_RPORT = 40000    # the peer's port of the default flow, server side
TUN_NAME = b'kd0'
ANY_WAIT_US = 60 * 1000000
WATCHDOG_S = 60
RT_PRIORITY = 10
CALL_GUARD_S = 2.0        # a call without ...END blocked this long is interrupted

TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK, TCP_URG, TCP_ECE, TCP_CWR = 1, 2, 4, 8, 16, 32, 64, 128
FLAG_CHARS = {'S': TCP_SYN, 'F': TCP_FIN, 'R': TCP_RST, 'P': TCP_PSH, '.': TCP_ACK,
              'U': TCP_URG, 'E': TCP_ECE, 'W': TCP_CWR}
OPT_EOL, OPT_NOP, OPT_MSS, OPT_WSCALE, OPT_SACK_PERM, OPT_SACK, OPT_TS = 0, 1, 2, 3, 4, 5, 8

# Linux values, as synq drill's parser has them (src/drivers/drill_parse.c)
SYMBOLS = {
    'AF_INET': 2, 'PF_INET': 2, 'AF_INET6': 10, 'PF_INET6': 10, 'AF_UNSPEC': 0,
    'SOCK_STREAM': 1, 'SOCK_DGRAM': 2, 'SOCK_NONBLOCK': 0o4000, 'SOCK_CLOEXEC': 0o2000000,
    'IPPROTO_IP': 0, 'IPPROTO_TCP': 6, 'IPPROTO_UDP': 17, 'SOL_SOCKET': 1, 'SOL_TCP': 6,
    'SO_REUSEADDR': 2, 'SO_ERROR': 4, 'SO_SNDBUF': 7, 'SO_RCVBUF': 8, 'SO_KEEPALIVE': 9,
    'SO_LINGER': 13, 'SO_REUSEPORT': 15, 'TCP_NODELAY': 1, 'TCP_MAXSEG': 2, 'TCP_CORK': 3,
    'TCP_KEEPIDLE': 4, 'TCP_KEEPINTVL': 5, 'TCP_KEEPCNT': 6, 'TCP_SYNCNT': 7, 'TCP_LINGER2': 8,
    'TCP_DEFER_ACCEPT': 9, 'TCP_WINDOW_CLAMP': 10, 'TCP_INFO': 11, 'TCP_QUICKACK': 12,
    'TCP_USER_TIMEOUT': 18, 'TCP_FASTOPEN': 23, 'O_RDONLY': 0, 'O_WRONLY': 1, 'O_RDWR': 2,
    'O_NONBLOCK': 0o4000, 'F_GETFD': 1, 'F_SETFD': 2, 'F_GETFL': 3, 'F_SETFL': 4,
    'POLLIN': 0x1, 'POLLPRI': 0x2, 'POLLOUT': 0x4, 'POLLERR': 0x8, 'POLLHUP': 0x10,
    'POLLNVAL': 0x20, 'POLLRDNORM': 0x40, 'POLLWRNORM': 0x100, 'POLLRDHUP': 0x2000,
    'SHUT_RD': 0, 'SHUT_WR': 1, 'SHUT_RDWR': 2, 'MSG_PEEK': 2, 'MSG_DONTWAIT': 0x40,
    'MSG_NOSIGNAL': 0x4000, 'INADDR_ANY': 0, 'NULL': 0,
}
ERRNOS = ['EPERM', 'ENOENT', 'EINTR', 'EIO', 'EBADF', 'EAGAIN', 'ENOMEM', 'EFAULT', 'EINVAL',
          'EMFILE', 'ENOSPC', 'EPIPE', 'ENOTSOCK', 'ENOPROTOOPT', 'EPROTONOSUPPORT',
          'EOPNOTSUPP', 'EAFNOSUPPORT', 'EADDRINUSE', 'EADDRNOTAVAIL', 'ENETUNREACH',
          'ECONNABORTED', 'ECONNRESET', 'ENOBUFS', 'EISCONN', 'ENOTCONN', 'ETIMEDOUT',
          'ECONNREFUSED', 'EHOSTUNREACH', 'EALREADY', 'EINPROGRESS']
for _n in ERRNOS:
    SYMBOLS[_n] = getattr(errno, _n)
SYMBOLS['EWOULDBLOCK'] = errno.EAGAIN


def errno_name(e):
    for n in ERRNOS:
        if SYMBOLS[n] == e:
            return n
    return errno.errorcode.get(e, 'errno %d' % e)


class ScriptFailure(Exception):
    """The script failed at a line: printed as FILE:LINE: MESSAGE, exit status 1. late: no
    verdict on the kernel, kdrill itself could not keep the script's schedule."""

    def __init__(self, line, msg, late=False):
        Exception.__init__(self, msg)
        self.line = line
        self.msg = msg
        self.late = late


LATE = 'kdrill was late, no verdict (a loaded machine: run the script again)'


# ---- the script ------------------------------------------------------------------------------

class Packet:
    def __init__(self):
        self.dir = '<'
        self.sport = self.dport = None      # ports named on the line, or None
        self.flags = 0
        self.seq = 0
        self.len = 0
        self.ack = 0
        self.has_ack = False
        self.win = None
        self.urg = 0
        self.opts = b''                     # raw TCP options, as written
        self.opts_any = False               # <...>
        self.ts_off = None                  # offset of the TS option in opts
        self.sack_off = None
        self.n_sack = 0


class Expr:
    """An argument or result: kind is int, word, ellipsis, list, struct, call or string."""

    def __init__(self, kind, value=None, kids=None, field=None):
        self.kind = kind
        self.value = value
        self.kids = kids or []
        self.field = field


class Event:
    def __init__(self, line):
        self.line = line
        self.time = 'abs'       # abs, rel, abs_range, rel_range, any
        self.untimed = False
        self.t_us = 0
        self.t_end_us = 0
        self.kind = None        # packet, call, command
        self.pkt = None
        self.text = ''          # command text, and the call as written
        self.name = ''
        self.args = []
        self.result = None
        self.errno = None
        self.blocking = False   # ...END
        self.end_us = 0


class Parser:
    """Recursive descent over synq drill's subset of packetdrill's grammar."""

    def __init__(self, text):
        self.s = text
        self.i = 0
        self.line = 1

    def fail(self, msg, line=None):
        raise ScriptFailure(line or self.line, msg)

    def skip(self):
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c == '\n':
                self.line += 1
                self.i += 1
            elif c in ' \t\r\f\v':
                self.i += 1
            elif s.startswith('//', self.i) or c == '#':
                while self.i < len(s) and s[self.i] != '\n':
                    self.i += 1
            elif s.startswith('/*', self.i):
                j = s.find('*/', self.i + 2)
                j = len(s) if j < 0 else j + 2
                self.line += s.count('\n', self.i, j)
                self.i = j
            else:
                return

    def peek(self):
        self.skip()
        return self.s[self.i:self.i + 1]

    def accept(self, tok):
        self.skip()
        if not self.s.startswith(tok, self.i):
            return False
        after = self.s[self.i + len(tok):self.i + len(tok) + 1]
        if tok[-1].isalpha() and (after.isalnum() or after == '_'):
            return False
        self.i += len(tok)
        return True

    def expect(self, tok, what):
        if not self.accept(tok):
            self.fail("expected '%s' %s, found '%s'" % (tok, what, self.s[self.i:self.i + 12]))

    def word(self):
        self.skip()
        j = self.i
        if j >= len(self.s) or not (self.s[j].isalpha() or self.s[j] == '_'):
            self.fail("expected a name, found '%s'" % self.s[j:j + 12])
        while j < len(self.s) and (self.s[j].isalnum() or self.s[j] == '_'):
            j += 1
        w = self.s[self.i:j]
        self.i = j
        return w

    def number(self, what='number', limit=0xffffffff):
        self.skip()
        j = self.i
        if self.s.startswith(('0x', '0X'), j):
            j += 2
            while j < len(self.s) and self.s[j] in '0123456789abcdefABCDEF':
                j += 1
            text = self.s[self.i:j]
            v = int(text, 16) if len(text) > 2 else None
        else:
            while j < len(self.s) and self.s[j].isdigit():
                j += 1
            text = self.s[self.i:j]
            v = int(text) if text else None
        if v is None or (j < len(self.s) and self.s[j].isalpha()):
            self.fail("expected a %s, found '%s'" % (what, self.s[self.i:self.i + 12]))
        if v > limit:
            self.fail('%s out of range' % what)
        self.i = j
        return v

    def time_us(self):
        """a time in seconds ("1", "1.5", ".1") as integer microseconds"""
        self.skip()
        j = self.i
        while j < len(self.s) and self.s[j].isdigit():
            j += 1
        ip = self.s[self.i:j]
        frac = ''
        if self.s.startswith('.', j) and self.s[j + 1:j + 2].isdigit():
            k = j + 1
            while k < len(self.s) and self.s[k].isdigit():
                k += 1
            frac = self.s[j + 1:k]
            j = k
        if not ip and not frac:
            self.fail("expected a time, found '%s'" % self.s[self.i:self.i + 12])
        self.i = j
        return int(ip or '0') * 1000000 + int((frac + '000000')[:6])

    # ---- packets

    def options(self, k):
        if self.accept('...'):
            k.opts_any = True
            self.expect('>', 'after <...')
            return
        b = bytearray()
        while True:
            w = self.word()
            if w == 'nop':
                b.append(OPT_NOP)
            elif w == 'eol':
                b.append(OPT_EOL)
            elif w == 'mss':
                b += struct.pack('!BBH', OPT_MSS, 4, self.number('mss', 65535))
            elif w == 'sackOK':
                b += bytes([OPT_SACK_PERM, 2])
            elif w == 'wscale':
                b += bytes([OPT_WSCALE, 3, self.number('wscale', 255)])
            elif w == 'TS':
                self.expect('val', 'in TS option')
                val = self.number('TS val')
                self.expect('ecr', 'in TS option')
                ecr = self.number('TS ecr')
                if k.ts_off is not None:
                    self.fail('two TS options')
                k.ts_off = len(b)
                b += struct.pack('!BBII', OPT_TS, 10, val, ecr)
            elif w == 'sack':
                blocks = []
                while self.peek().isdigit():
                    a = self.number('SACK start')
                    self.expect(':', 'in SACK block')
                    blocks.append((a, self.number('SACK end')))
                if not blocks or len(blocks) > 4:
                    self.fail('sack option needs 1 to 4 blocks')
                k.sack_off = len(b)
                k.n_sack = len(blocks)
                b += bytes([OPT_SACK, 2 + 8 * len(blocks)])
                for a, e in blocks:
                    b += struct.pack('!II', a, e)
            else:
                self.fail("TCP option '%s' is not supported by kdrill" % w)
            if len(b) > 40:
                self.fail('TCP options longer than 40 bytes')
            if self.accept(','):
                continue
            self.expect('>', 'to end the TCP options')
            k.opts = bytes(b)
            return

    def packet(self, e):
        k = Packet()
        k.dir = self.s[self.i]
        self.i += 1
        if self.peek() == '[':      # [ect0], [noecn], ...: accepted, ignored
            j = self.s.find(']', self.i)
            if j < 0 or '\n' in self.s[self.i:j]:
                self.fail('unterminated [...] IP information')
            self.i = j + 1
        if self.peek().isdigit():
            k.sport = self.number('port', 65535)
            self.expect('>', 'between ports')
            k.dport = self.number('port', 65535)
            if not k.sport or not k.dport:
                self.fail('port out of range')
        self.skip()
        if self.s.startswith('-', self.i):
            self.i += 1
        else:
            while self.i < len(self.s) and (self.s[self.i].isalpha() or self.s[self.i] == '.'):
                c = self.s[self.i]
                if c not in FLAG_CHARS:
                    self.fail("unknown TCP flag '%s'" % c)
                k.flags |= FLAG_CHARS[c]
                self.i += 1
            if not k.flags:
                self.fail("expected TCP flags, found '%s'" % self.s[self.i:self.i + 12])
        start = self.number('sequence number')
        self.expect(':', 'in start:end(len)')
        end = self.number('sequence number')
        self.expect('(', 'in start:end(len)')
        k.len = self.number('length')
        self.expect(')', 'in start:end(len)')
        if k.len > 1400:
            self.fail('payload of %d bytes: at most 1400 in one packet' % k.len)
        if (start + k.len) & 0xffffffff != end:
            self.fail('inconsistent TCP sequence numbers and payload size')
        k.seq = start
        while True:
            if self.accept('ack'):
                k.ack = self.number('ack')
                k.has_ack = True
            elif self.accept('win'):
                k.win = self.number('win', 65535)
            elif self.accept('urg'):
                k.urg = self.number('urg', 65535)
            elif self.accept('<'):
                self.options(k)
            else:
                break
        if k.dir == '<' and k.opts_any:
            self.fail('<...> for TCP options can only be used with outbound packets', e.line)
        if k.dir == '<' and k.win is None:
            self.fail('window must be specified for inbound packets', e.line)
        e.kind = 'packet'
        e.pkt = k

    # ---- calls

    def primary(self, depth):
        if depth > 8:
            self.fail('expression nested too deep')
        if self.accept('...'):
            return Expr('ellipsis')
        self.skip()
        neg = self.s.startswith('-', self.i)
        if neg:
            self.i += 1
        c = self.s[self.i:self.i + 1]
        if c.isdigit():
            v = self.number(limit=(1 << 64) - 1)
            return Expr('int', -v if neg else v)
        if neg:
            self.fail("expected a number after '-'")
        if c == '"':
            j = self.s.find('"', self.i + 1)
            if j < 0 or '\n' in self.s[self.i:j]:
                self.fail('unterminated string')
            v = self.s[self.i + 1:j]
            self.i = j + 1
            return Expr('string', v)
        if self.accept('['):
            return Expr('list', kids=self.sequence(']', depth, False))
        if self.accept('{'):
            return Expr('struct', kids=self.sequence('}', depth, True))
        if c.isalpha() or c == '_':
            w = self.word()
            while self.s[self.i:self.i + 1] in (' ', '\t'):
                self.i += 1
            if self.s.startswith('(', self.i):
                self.i += 1
                return Expr('call', w, kids=self.sequence(')', depth, False))
            if w in SYMBOLS:
                return Expr('int', SYMBOLS[w])
            return Expr('word', w)
        self.fail("expected an expression, found '%s'" % self.s[self.i:self.i + 12])

    def expr(self, depth=0):
        x = self.primary(depth)
        while self.accept('|'):
            r = self.primary(depth)
            if x.kind != 'int' or r.kind != 'int':
                self.fail("'|' needs known constants")
            x = Expr('int', x.value | r.value)
        return x

    def sequence(self, close, depth, fields):
        kids = []
        if self.accept(close):
            return kids
        while True:
            field = None
            if fields:
                self.skip()
                save = (self.i, self.line)
                c = self.s[self.i:self.i + 1]
                if c.isalpha() or c == '_':
                    w = self.word()
                    if self.accept('='):
                        field = w
                    else:
                        self.i, self.line = save
            x = self.expr(depth + 1)
            x.field = field
            kids.append(x)
            if self.accept(','):
                continue
            if self.accept(close):
                return kids
            self.fail("expected ',' or '%s', found '%s'" % (close, self.s[self.i:self.i + 12]))

    def call(self, e):
        start = self.i
        if self.accept('...'):
            e.end_us = self.time_us()
            e.blocking = True
        e.name = self.word()
        self.expect('(', "after the call's name")
        e.args = self.sequence(')', 0, False)
        self.expect('=', "before the call's result")
        e.result = self.expr()
        while self.s[self.i:self.i + 1] in (' ', '\t'):
            self.i += 1
        c = self.s[self.i:self.i + 1]
        if c.isalpha() or c == '_':
            w = self.word()
            if not w.startswith('E') or w not in SYMBOLS:
                self.fail('unknown errno %s' % w)
            e.errno = w
            while self.s[self.i:self.i + 1] in (' ', '\t'):
                self.i += 1
        if self.s.startswith('(', self.i):       # the note, free text
            depth = 0
            while True:
                c = self.s[self.i:self.i + 1]
                if c in ('', '\n'):
                    self.fail('unterminated (...) note')
                self.i += 1
                depth += c == '('
                depth -= c == ')'
                if depth == 0:
                    break
        e.kind = 'call'
        e.text = ' '.join(self.s[start:self.i].split())

    def event(self):
        e = Event(self.line)
        c = self.peek()
        if c == '`':
            e.untimed = True
        elif self.accept('*'):
            e.time = 'any'
        else:
            rel = self.accept('+')
            e.t_us = self.time_us()
            e.time = 'rel' if rel else 'abs'
            if self.accept('~'):
                if self.accept('+') != rel:
                    self.fail('a time range must be absolute or relative at both ends')
                e.t_end_us = self.time_us()
                if e.t_end_us < e.t_us:
                    self.fail('time range is backwards')
                e.time += '_range'
        c = self.peek()
        if c in ('<', '>'):
            self.packet(e)
        elif c == '`':
            j = self.s.find('`', self.i + 1)
            if j < 0:
                self.fail('unterminated `command`')
            e.kind = 'command'
            e.text = self.s[self.i + 1:j]
            self.line += e.text.count('\n')
            self.i = j + 1
        elif self.s.startswith('%{', self.i):
            self.fail('%{ python }% blocks are not supported by kdrill')
        elif c.isalpha() or c in ('_', '.'):
            self.call(e)
        else:
            self.fail("expected a packet, a system call or a `command`, found '%s'"
                      % self.s[self.i:self.i + 12])
        if e.time == 'any' and not (e.kind == 'packet' and e.pkt.dir == '>'):
            self.fail('event time * can only be used with outbound packets', e.line)
        if e.time.endswith('_range') and not (e.kind == 'packet' and e.pkt.dir == '>'):
            self.fail('event time range can only be used with outbound packets', e.line)
        return e

    def script(self):
        """-> (events, tolerance_us or None, tolerance_percent or None)"""
        tol_us = tol_pct = None
        self.skip()
        while self.s.startswith('--', self.i):
            j = self.i + 2
            while j < len(self.s) and self.s[j] not in ' \t\r\n':
                j += 1
            opt = self.s[self.i + 2:j]
            self.i = j
            try:
                if opt.startswith('tolerance_usecs='):
                    tol_us = int(opt.split('=', 1)[1])
                elif opt.startswith('tolerance_percent='):
                    tol_pct = float(opt.split('=', 1)[1])
                elif opt != 'ip_version=ipv4':
                    self.fail('option --%s is not supported by kdrill' % opt)
            except ValueError:
                self.fail('bad option --%s' % opt)
            self.skip()
        events = []
        while self.peek():
            events.append(self.event())
        return events, tol_us, tol_pct


# ---- packets on the wire ----------------------------------------------------------------------

def checksum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


class Seg:
    """A TCP segment the kernel sent: t_us (script time, from the kernel's timestamp)."""

    def __init__(self, t_us, b):
        ihl = (b[0] & 15) * 4
        t = b[ihl:]
        (self.sport, self.dport, self.seq, self.ack, off, self.flags, self.win, _,
         self.urg) = struct.unpack('!HHIIBBHHH', t[:20])
        doff = (off >> 4) * 4
        self.opts = bytes(t[20:doff])
        self.len = struct.unpack('!H', b[2:4])[0] - ihl - doff
        self.t_us = t_us


def tcp_packet(sport, dport, seq, ack, flags, win, urg, opts, payload_len):
    opts = bytes(opts)
    while len(opts) % 4:
        opts += bytes([OPT_EOL])
    src, dst = socket.inet_aton(REMOTE_IP), socket.inet_aton(LOCAL_IP)
    tcp = struct.pack('!HHIIBBHHH', sport, dport, seq & 0xffffffff, ack & 0xffffffff,
                      (20 + len(opts)) // 4 << 4, flags, win, 0, urg) + opts + bytes(payload_len)
    c = checksum(src + dst + struct.pack('!BBH', 0, 6, len(tcp)) + tcp)
    tcp = tcp[:16] + struct.pack('!H', c) + tcp[18:]
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, src, dst)
    return ip[:10] + struct.pack('!H', checksum(ip)) + ip[12:] + tcp


def fmt_flags(f):
    s = ''.join(c for c, b in (('S', TCP_SYN), ('F', TCP_FIN), ('R', TCP_RST), ('P', TCP_PSH),
                                ('U', TCP_URG), ('E', TCP_ECE), ('W', TCP_CWR), ('.', TCP_ACK))
                if f & b)
    return s or '-'


def fmt_opts(o):
    out = []
    i = 0
    while i < len(o):
        k = o[i]
        if k in (OPT_NOP, OPT_EOL):
            out.append('nop' if k == OPT_NOP else 'eol')
            i += 1
            continue
        if i + 1 >= len(o) or o[i + 1] < 2 or i + o[i + 1] > len(o):
            out.append('?')
            break
        n = o[i + 1]
        d = o[i + 2:i + n]
        if k == OPT_MSS and n == 4:
            out.append('mss %d' % struct.unpack('!H', d)[0])
        elif k == OPT_SACK_PERM and n == 2:
            out.append('sackOK')
        elif k == OPT_WSCALE and n == 3:
            out.append('wscale %d' % d[0])
        elif k == OPT_TS and n == 10:
            out.append('TS val %d ecr %d' % struct.unpack('!II', d))
        elif k == OPT_SACK and (n - 2) % 8 == 0:
            out.append('sack ' + ' '.join('%d:%d' % struct.unpack('!II', d[j:j + 8])
                                          for j in range(0, n - 2, 8)))
        else:
            out.append('kind %d len %d' % (k, n))
        i += n
    return '<' + ','.join(out) + '>'


def fmt_pkt(ports, flags, seq, length, ack, win, opts, opts_any):
    s = '%s%s %d:%d(%d)' % ('%d>%d ' % ports if ports else '', fmt_flags(flags), seq,
                            (seq + length) & 0xffffffff, length)
    if ack is not None:
        s += ' ack %d' % ack
    if win is not None:
        s += ' win %d' % win
    if opts_any:
        s += ' <...>'
    elif opts:
        s += ' ' + fmt_opts(opts)
    return s


def fmt_script_pkt(k):
    ports = (k.sport, k.dport) if k.sport else None
    ack = k.ack if (k.has_ack or k.flags & TCP_ACK) else None
    return k.dir + ' ' + fmt_pkt(ports, k.flags, k.seq, k.len, ack, k.win, k.opts, k.opts_any)


def compare_opts(want, got):
    """None if the options match (kinds, lengths, values but TS values), else why not"""
    i = j = 0
    while i < len(want) and j < len(got):
        kw, kg = want[i], got[j]
        if kw != kg:
            return 'option kind %d where the script has kind %d' % (kg, kw)
        if kw in (OPT_NOP, OPT_EOL):
            i += 1
            j += 1
            continue
        if i + 1 >= len(want) or j + 1 >= len(got):
            return 'truncated option'
        lw, lg = want[i + 1], got[j + 1]
        if lw != lg or j + lg > len(got) or lg < 2:
            return 'bad length in option kind %d' % kw
        if kw != OPT_TS and want[i + 2:i + lw] != got[j + 2:j + lg]:
            return 'bad value in option kind %d' % kw
        i += lw
        j += lg
    if i != len(want) or j != len(got):
        return 'options of %d bytes where the script has %d' % (len(got), len(want))
    return None


# ---- the namespace and the device ---------------------------------------------------------------

def netns_inode(pid):
    return os.stat('/proc/%s/ns/net' % pid).st_ino


def parent_pid(pid):
    with open('/proc/%d/stat' % pid) as f:
        return int(f.read().rsplit(')', 1)[1].split()[1])


def fresh_netns_problem():
    """None if this process is in a fresh network namespace, else why not. "Not the host's":
    some ancestor process (the shell that ran unshare -n) is in another namespace, and PID 1,
    if we may look at it, is too. "Fresh": no device but lo, no TCP socket."""
    try:
        mine = netns_inode('self')
    except OSError as e:
        return 'cannot read /proc/self/ns/net: %s' % e.strerror
    try:
        if netns_inode(1) == mine:
            return "this is PID 1's network namespace (the host's)"
    except OSError:
        pass    # not allowed to look at PID 1 (e.g. a VM's agent): the ancestors decide
    pid, outside = os.getppid(), False
    try:
        while pid > 1 and not outside:
            outside = netns_inode(pid) != mine
            pid = parent_pid(pid)
    except (OSError, ValueError, IndexError):
        pass
    if not outside:
        return 'no parent process is in another network namespace (is this the host\'s?)'
    with open('/proc/self/net/dev') as f:
        devs = [l.split(':')[0].strip() for l in f.read().splitlines()[2:] if ':' in l]
    if devs != ['lo']:
        return 'the namespace has devices other than lo: %s' % ' '.join(devs)
    with open('/proc/self/net/tcp') as f:
        if len(f.read().splitlines()) > 1:
            return 'the namespace already has TCP sockets'
    return None


def ifreq(name, fmt='H', *vals):
    return struct.pack('16s' + fmt, name, *vals)


def ifreq_addr(name, ip):
    return struct.pack('16sH2s4s8s', name, socket.AF_INET, b'\0\0', socket.inet_aton(ip),
                       bytes(8))


SIOCGIFFLAGS, SIOCSIFFLAGS, SIOCSIFADDR, SIOCSIFDSTADDR = 0x8913, 0x8914, 0x8916, 0x8918
TUNSETIFF, IFF_TUN, IFF_NO_PI, IFF_UP = 0x400454ca, 0x0001, 0x1000, 0x1
ETH_P_ALL, SO_TIMESTAMPNS, PACKET_HOST, PACKET_OUTGOING = 0x0003, 35, 0, 4


def write_sysctl(name, value):
    """name=value in this namespace only: net.* names only (see the safety note at the top)"""
    parts = name.split('.')
    if parts[0] != 'net' or len(parts) < 3 or '' in parts or '..' in parts:
        return 'only net.* names are allowed'
    path = '/proc/sys/' + '/'.join(parts)
    if not os.path.isfile(path):
        return 'no such setting in this network namespace of Linux %s' % os.uname().release
    try:
        with open(path, 'w') as f:
            f.write(value)
    except OSError as e:
        return e.strerror
    return None


class Wire:
    """kd0: packets written to the TUN device are the peer's; packets the kernel sends are
    read from a packet socket with their kernel timestamps (the TUN device is only drained)."""

    def __init__(self):
        for knob in ('net.ipv6.conf.all.disable_ipv6', 'net.ipv6.conf.default.disable_ipv6'):
            if os.path.exists('/proc/sys/' + knob.replace('.', '/')):
                write_sysctl(knob, '1')
        self.tun = os.open('/dev/net/tun', os.O_RDWR | os.O_NONBLOCK)
        fcntl.ioctl(self.tun, TUNSETIFF, ifreq(TUN_NAME, 'H', IFF_TUN | IFF_NO_PI))
        ctl = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        fcntl.ioctl(ctl, SIOCSIFADDR, ifreq_addr(TUN_NAME, LOCAL_IP))
        fcntl.ioctl(ctl, SIOCSIFDSTADDR, ifreq_addr(TUN_NAME, REMOTE_IP))  # route to the peer
        for dev in (b'lo', TUN_NAME):
            flags = struct.unpack('16sH', fcntl.ioctl(ctl, SIOCGIFFLAGS, ifreq(dev, 'H', 0)))[1]
            fcntl.ioctl(ctl, SIOCSIFFLAGS, ifreq(dev, 'H', flags | IFF_UP))
        ctl.close()
        self.sniff = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
        self.sniff.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sniff.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.sniff.bind((TUN_NAME.decode(), ETH_P_ALL))
        self.sniff.setblocking(False)
        self.t0 = None

    def inject(self, b):
        os.write(self.tun, b)

    def wait(self, timeout, extra_fd):
        """wait up to timeout seconds for a packet or for extra_fd. At most 0.25 s at a time:
        the kernel lets a sleep of d end up to d/1000 late (select's timer slack)."""
        fds = [self.sniff, self.tun] + ([extra_fd] if extra_fd is not None else [])
        select.select(fds, [], [], min(max(0.0, timeout), 0.25))

    def collect(self, log):
        """TCP segments the kernel sent since the last call, oldest first"""
        try:
            while os.read(self.tun, 65536):
                pass
        except BlockingIOError:
            pass
        out = []
        while True:
            try:
                data, anc, _, addr = self.sniff.recvmsg(65536, 64)
            except BlockingIOError:
                return out
            ts = None
            for level, typ, d in anc:
                if level == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS:
                    sec, nsec = struct.unpack('qq', d[:16])
                    ts = sec + nsec / 1e9
            if ts is None:
                ts = time.time()
            if addr[2] != PACKET_OUTGOING:
                continue    # our own injected packets
            if len(data) < 40 or data[0] >> 4 != 4 or data[9] != 6:
                if log:
                    log('kdrill: ignored a non-TCP/IPv4 packet of %d bytes' % len(data))
                continue
            out.append(Seg(int(round((ts - self.t0) * 1e6)), data))


# ---- system calls -----------------------------------------------------------------------------

LIBC = ctypes.CDLL(None, use_errno=True)


class SockaddrIn(ctypes.Structure):
    _fields_ = [('family', ctypes.c_ushort), ('port', ctypes.c_uint16),
                ('addr', ctypes.c_uint32), ('zero', ctypes.c_char * 8)]


class Pollfd(ctypes.Structure):
    _fields_ = [('fd', ctypes.c_int), ('events', ctypes.c_short), ('revents', ctypes.c_short)]


def sockaddr(ip, port):
    return SockaddrIn(socket.AF_INET, socket.htons(port),
                      struct.unpack('=I', socket.inet_aton(ip))[0], b'')


def syscall(rc):
    """(rc, errno) of a libc call returning -1 on error"""
    return (-1, ctypes.get_errno()) if rc == -1 else (rc, 0)


# ---- the run ----------------------------------------------------------------------------------

class Flow:
    def __init__(self, lport=None, rport=None, explicit=False):
        self.lport, self.rport = lport, rport
        self.learned = lport is not None
        self.explicit = explicit
        self.local_isn = None           # (live, script) once the kernel sent a SYN
        self.remote_isn = None
        self.ts = []                    # (script TS val, live TS val) of `>` lines
        self.last_us = 0                # script time of this flow's last event


class Blocked:
    """A call that runs in its own thread while the script goes on."""

    def __init__(self, e, start_us, end_us, fn, wake_w):
        self.e = e
        self.start_us = start_us
        self.end_us = end_us
        self.result = None
        self.started_at = None      # just before the call, in its thread
        self.started = threading.Event()
        self.done_at = None
        self.fn = fn
        self.wake_w = wake_w
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        self.started_at = time.time()
        self.started.set()
        self.result = self.fn()
        self.done_at = time.time()
        os.write(self.wake_w, b'x')


class Run:
    def __init__(self, path, events, tol_us, tol_pct, verbose):
        self.path = path
        self.events = events
        self.tol_us = tol_us
        self.tol_pct = tol_pct
        self.verbose = verbose
        self.wire = None
        self.t0 = None
        self.flows = [Flow()]
        self.pending = []           # segments no `>` line took yet
        self.fds = {}               # script fd -> real fd
        self.blocked = None
        self.now_us = 0             # "now" after the previous event
        self.last_us = 0            # script time of the previous event
        self.last_call_us = 0       # script time of the previous call or command
        self.last_inbound = False
        self.own_late_us = 0        # how late kdrill made the previous call or injection
        self.wake_r, self.wake_w = os.pipe()

    # ---- clock and logging

    def clock_us(self):
        return int(round((time.time() - self.t0) * 1e6))

    def log(self, msg):
        if self.verbose:
            print(msg, flush=True)

    def trace(self, t_us, msg):
        self.log('%10.6f %s' % (t_us / 1e6, msg))

    # ---- flows (as synq drill's drill_run.c)

    def flow_of(self, k):
        if k.sport is None:
            return self.flows[0]
        lport, rport = (k.dport, k.sport) if k.dir == '<' else (k.sport, k.dport)
        for f in self.flows[1:]:
            if (f.lport, f.rport) == (lport, rport):
                return f
        d = self.flows[0]
        if d.learned and (d.lport, d.rport) == (lport, rport):
            return d
        f = Flow(lport, rport, explicit=True)
        self.flows.append(f)
        return f

    def live_flow(self, g):
        for f in self.flows:
            if f.learned and (f.lport, f.rport) == (g.sport, g.dport):
                return f
        return None

    def fmt_live(self, g):
        f = self.live_flow(g)
        seq, ack = g.seq, g.ack
        syn = g.flags & TCP_SYN
        if f and f.local_isn:
            live, script = f.local_isn
            seq = (seq - (live - script if syn else live)) & 0xffffffff
        if f and f.remote_isn is not None and not syn and g.flags & TCP_ACK:
            ack = (ack - f.remote_isn) & 0xffffffff
        return fmt_pkt((g.sport, g.dport), g.flags, seq, g.len,
                       ack if g.flags & TCP_ACK else None, g.win, g.opts, False)

    # ---- waiting

    def pump(self, until_us):
        """wait until script time until_us (or at once if it is past), collecting what the
        kernel sends and finishing the blocked call if it returned"""
        while True:
            self.pending += self.wire.collect(self.log if self.verbose else None)
            self.check_blocked()
            left = until_us - self.clock_us()
            if left <= 0:
                return
            self.wire.wait(left / 1e6, self.wake_r if self.blocked else None)

    def take(self, f):
        for i, g in enumerate(self.pending):
            if f.learned:
                if (g.sport, g.dport) == (f.lport, f.rport):
                    return self.pending.pop(i)
            elif not any((x.lport, x.rport) == (g.sport, g.dport) for x in self.flows[1:]):
                f.lport, f.rport, f.learned = g.sport, g.dport, True
                return self.pending.pop(i)
        return None

    def check_unexpected(self, line, t_us):
        for g in self.pending:
            if g.t_us < t_us - self.tol_us:
                raise ScriptFailure(line, 'expected no packet before this event at %.6f s, '
                                    'got %s at %.6f s' % (t_us / 1e6, self.fmt_live(g),
                                                          g.t_us / 1e6))

    # ---- the blocked call

    def check_blocked(self):
        b = self.blocked
        if not b or b.done_at is None:
            return
        b.thread.join()
        self.blocked = None
        try:
            os.read(self.wake_r, 64)
        except OSError:
            pass
        at = int(round((b.done_at - self.t0) * 1e6))
        late = max(self.tol_us, int(self.tol_pct / 100 * (b.end_us - b.start_us)))
        self.trace(at, '%s returned (line %d)' % (b.e.name, b.e.line))
        if at < b.end_us - self.tol_us or at > b.end_us + late:
            raise ScriptFailure(b.e.line, 'expected %s() to return at %.6f s (%.6f~%.6f s), got '
                                'it at %.6f s' % (b.e.name, b.end_us / 1e6,
                                                  (b.end_us - self.tol_us) / 1e6,
                                                  (b.end_us + late) / 1e6, at / 1e6))
        self.finish_call(b.e, b.result)

    def start_call(self, e, t_us, anchor):
        fn = self.prepare_call(e)
        if e.blocking:
            end = anchor + e.end_us if e.time == 'rel' else e.end_us
        else:
            end = t_us
        if self.blocked:
            raise ScriptFailure(e.line, 'expected %s() to run, got %s() (line %d) still blocked'
                                % (e.name, self.blocked.e.name, self.blocked.e.line))
        if not e.blocking:
            # must return at once: made here, an interval timer (SIGALRM: EINTR) bounds it
            signal.setitimer(signal.ITIMER_REAL, CALL_GUARD_S)
            try:
                slept = resource.getrusage(resource.RUSAGE_THREAD).ru_nvcsw
                before = time.time()
                result = fn()
                took = time.time() - before
                slept = resource.getrusage(resource.RUSAGE_THREAD).ru_nvcsw > slept
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            if result[0] == -1 and result[1] == errno.EINTR:
                raise ScriptFailure(e.line, 'expected %s() to return at once, got it still '
                                    'blocked after %.0f s (a call that waits needs ...END)' % (
                                        e.name, CALL_GUARD_S))
            if took * 1e6 > self.tol_us:
                # slept in the kernel: it blocked; else kdrill was preempted around the call
                if slept:
                    raise ScriptFailure(e.line, 'expected %s() to return at once, got it after '
                                        '%.6f s' % (e.name, took))
                raise ScriptFailure(e.line, 'expected %s() to take no time, got %.6f s: %s' % (
                    e.name, took, LATE), late=True)
            self.finish_call(e, result, '   [line %d: %+.1f ms, took %.1f ms]' % (
                e.line, (self.clock_us() - t_us) / 1e3 - took * 1e3, took * 1e3))
            return
        b = Blocked(e, t_us, end, fn, self.wake_w)
        b.started.wait(CALL_GUARD_S)
        at = self.clock_us() if b.started_at is None else \
            int(round((b.started_at - self.t0) * 1e6))
        if at - t_us > self.tol_us:
            raise ScriptFailure(e.line, 'expected to start %s() at %.6f s, got it started at '
                                '%.6f s: %s' % (e.name, t_us / 1e6, at / 1e6, LATE), late=True)
        self.own_late_us = max(0, at - t_us)
        self.trace(at, '%s blocks   [line %d: %+.1f ms]' % (e.name, e.line, (at - t_us) / 1e3))
        self.blocked = b
        self.check_blocked()

    # ---- calls

    def arg_int(self, e, i):
        if i >= len(e.args):
            raise ScriptFailure(e.line, '%s(): missing argument %d' % (e.name, i + 1))
        x = e.args[i]
        if x.kind == 'list' and len(x.kids) == 1:
            x = x.kids[0]
        if x.kind == 'int':
            return x.value
        if x.kind == 'word':
            raise ScriptFailure(e.line, '%s(): unknown symbol %s' % (e.name, x.value))
        raise ScriptFailure(e.line, '%s(): argument %d must be an integer' % (e.name, i + 1))

    def is_ellipsis(self, e, i):
        return i < len(e.args) and e.args[i].kind == 'ellipsis'

    def arg_addr(self, e, i, ip):
        port = SCRIPT_PORT
        if i >= len(e.args) or self.is_ellipsis(e, i):
            return sockaddr(ip, port)
        x = e.args[i]
        if x.kind != 'struct':
            raise ScriptFailure(e.line, '%s(): address must be ... or {sin_port=htons(P), '
                                'sin_addr=inet_addr("A")}' % e.name)
        for k in x.kids:
            v = k.kids[0] if k.kind == 'call' and len(k.kids) == 1 else k
            if k.field == 'sin_port':
                if v.kind != 'int' or not 0 <= v.value <= 65535:
                    raise ScriptFailure(e.line, 'bad sin_port')
                port = v.value
            elif k.field == 'sin_addr':
                if v.kind == 'int' and v.value == 0:
                    ip = '0.0.0.0'
                elif v.kind == 'string':
                    ip = v.value
                else:
                    raise ScriptFailure(e.line, 'bad sin_addr')
            elif k.field in ('sa_family', 'sin_family') and not (k.kind == 'int' and k.value == 2):
                raise ScriptFailure(e.line, 'kdrill supports AF_INET only')
        try:
            return sockaddr(ip, port)
        except OSError:
            raise ScriptFailure(e.line, 'bad sin_addr %s' % ip)

    def real_fd(self, e, i=0):
        return self.fds.get(self.arg_int(e, i), -1)

    def prepare_call(self, e):
        """check the arguments; -> a function that makes the call and returns
        (rc, errno, extra) where extra is what it wrote (getsockopt, poll)"""
        n = e.name
        if n == 'socket':
            dom = 2 if self.is_ellipsis(e, 0) else self.arg_int(e, 0)
            typ = 1 if self.is_ellipsis(e, 1) else self.arg_int(e, 1)
            proto = 6 if self.is_ellipsis(e, 2) else self.arg_int(e, 2)
            return lambda: syscall(LIBC.socket(dom, typ, proto)) + (None,)
        if n == 'poll':
            return self.prepare_poll(e)
        fd = self.real_fd(e)
        if n == 'bind':
            a = self.arg_addr(e, 1, LOCAL_IP)
            return lambda: syscall(LIBC.bind(fd, ctypes.byref(a), ctypes.sizeof(a))) + (None,)
        if n == 'connect':
            a = self.arg_addr(e, 1, REMOTE_IP)
            return lambda: syscall(LIBC.connect(fd, ctypes.byref(a), ctypes.sizeof(a))) + (None,)
        if n == 'listen':
            bl = self.arg_int(e, 1)
            return lambda: syscall(LIBC.listen(fd, bl)) + (None,)
        if n in ('accept', 'accept4'):
            fl = self.arg_int(e, 3) if n == 'accept4' and len(e.args) > 3 else 0
            return lambda: syscall(LIBC.accept4(fd, None, None, fl)) + (None,)
        if n in ('read', 'recv', 'write', 'send'):
            ln = self.arg_int(e, 2)
            if not 0 <= ln <= 1 << 20:
                raise ScriptFailure(e.line, '%s(): length out of range' % n)
            fl = self.arg_int(e, 3) if n in ('recv', 'send') and len(e.args) > 3 else 0
            buf = ctypes.create_string_buffer(ln + 1)
            if n == 'read':
                return lambda: syscall(LIBC.read(fd, buf, ln)) + (None,)
            if n == 'recv':
                return lambda: syscall(LIBC.recv(fd, buf, ln, fl)) + (None,)
            if n == 'write':
                return lambda: syscall(LIBC.write(fd, buf, ln)) + (None,)
            return lambda: syscall(LIBC.send(fd, buf, ln, fl)) + (None,)
        if n == 'close':
            return lambda: syscall(LIBC.close(fd)) + (None,)
        if n == 'shutdown':
            how = self.arg_int(e, 1)
            return lambda: syscall(LIBC.shutdown(fd, how)) + (None,)
        if n == 'fcntl':
            cmd = self.arg_int(e, 1)
            if cmd not in (1, 2, 3, 4):
                raise ScriptFailure(e.line, 'fcntl(): only F_GETFL, F_SETFL, F_GETFD and '
                                    'F_SETFD are supported')
            v = self.arg_int(e, 2) if cmd in (2, 4) else 0
            return lambda: syscall(LIBC.fcntl(fd, cmd, ctypes.c_long(v))) + (None,)
        if n == 'setsockopt':
            lvl, name, v = self.arg_int(e, 1), self.arg_int(e, 2), self.arg_int(e, 3)
            iv = ctypes.c_int(v)
            return lambda: syscall(LIBC.setsockopt(fd, lvl, name, ctypes.byref(iv), 4)) + (None,)
        if n == 'getsockopt':
            lvl, name = self.arg_int(e, 1), self.arg_int(e, 2)

            def get():
                iv, ln = ctypes.c_int(0), ctypes.c_uint(4)
                r = syscall(LIBC.getsockopt(fd, lvl, name, ctypes.byref(iv), ctypes.byref(ln)))
                return r + ((iv.value, ln.value),)
            return get
        raise ScriptFailure(e.line, 'system call %s() is not supported by kdrill' % n)

    def prepare_poll(self, e):
        if not e.args or e.args[0].kind != 'list':
            raise ScriptFailure(e.line, 'poll(): first argument must be [{fd=..., events=...}]')
        entries = []
        for st in e.args[0].kids:
            d = {'fd': -1, 'events': 0, 'revents': None}
            for k in (st.kids if st.kind == 'struct' else []):
                if k.kind != 'int':
                    raise ScriptFailure(e.line, 'poll(): %s must be a constant' % k.field)
                d[k.field] = k.value
            entries.append(d)
        tmo = self.arg_int(e, 2) if len(e.args) > 2 else 0
        arr = (Pollfd * len(entries))()
        for i, d in enumerate(entries):
            arr[i].fd = self.fds.get(d['fd'], -1)
            arr[i].events = d['events']

        def call():
            r = syscall(LIBC.poll(arr, len(entries), tmo))
            return r + ([(d['fd'], d['revents'], arr[i].revents & 0xffff)
                         for i, d in enumerate(entries)],)
        return call

    def finish_call(self, e, result, note=''):
        rc, err, extra = result
        if rc >= 0 and e.name in ('socket', 'accept', 'accept4'):
            fd = 3
            while fd in self.fds:
                fd += 1
            self.fds[fd] = rc
            rc = fd
        if rc == 0 and e.name == 'close':
            self.fds.pop(self.arg_int(e, 0), None)
        if e.name == 'connect' and not self.flows[0].learned:
            self.learn_connect(e)
        got = '%d' % rc if rc != -1 else '-1 %s' % errno_name(err)
        call = e.text.split(' = ')[0]
        self.trace(self.clock_us(), '%s = %s%s' % (call, got, note))
        want = e.result
        if want.kind != 'ellipsis':
            if want.kind != 'int':
                raise ScriptFailure(e.line, '%s(): the expected result must be a number' % e.name)
            werr = SYMBOLS[e.errno] if e.errno else None
            if want.value != rc or (rc == -1 and werr is not None and werr != err):
                raise ScriptFailure(e.line, 'expected %s = %d%s, got %s' % (
                    call, want.value, ' ' + e.errno if e.errno else '', got))
        if e.name == 'getsockopt' and rc == 0:
            value, length = extra
            soerr = self.arg_int(e, 1) == 1 and self.arg_int(e, 2) == 4
            for i, actual, what in ((3, value, 'value'), (4, length, 'length')):
                if i >= len(e.args) or self.is_ellipsis(e, i):
                    continue
                w = self.arg_int(e, i)
                if w != actual:
                    name = (lambda v: ' (%s)' % errno_name(v) if soerr and v else '')
                    raise ScriptFailure(e.line, 'expected %s %s [%d]%s, got [%d]%s' % (
                        call, what, w, name(w) if what == 'value' else '', actual,
                        name(actual) if what == 'value' else ''))
        if e.name == 'poll':
            for fd, want_rev, got_rev in extra:
                if want_rev is not None and want_rev != got_rev:
                    raise ScriptFailure(e.line, 'expected %s fd %d revents 0x%x, got 0x%x' % (
                        call, fd, want_rev, got_rev))

    def learn_connect(self, e):
        fd = self.fds.get(self.arg_int(e, 0))
        a = SockaddrIn()
        ln = ctypes.c_uint(ctypes.sizeof(a))
        if fd is not None and LIBC.getsockname(fd, ctypes.byref(a), ctypes.byref(ln)) == 0 \
                and a.port:
            d = self.flows[0]
            d.lport, d.rport, d.learned = socket.ntohs(a.port), SCRIPT_PORT, True

    # ---- commands

    def command(self, e):
        for part in e.text.replace('\n', ';').split(';'):
            words = part.split()
            if not words:
                continue
            if words[0] != 'sysctl':
                raise ScriptFailure(e.line, 'command `%s`: kdrill only runs `sysctl -q '
                                    'name=value`' % e.text)
            n = 0
            for w in words[1:]:
                if w.startswith('-'):
                    if w not in ('-q', '-w', '-qw', '-wq', '-e'):
                        raise ScriptFailure(e.line, 'command `%s`: sysctl option %s not '
                                            'supported' % (e.text, w))
                    continue
                w = w.strip('"\'')
                if '=' not in w:
                    raise ScriptFailure(e.line, 'command `%s`: %s is not name=value' % (e.text, w))
                name, value = w.split('=', 1)
                why = write_sysctl(name, value)
                if why:
                    raise ScriptFailure(e.line, 'expected to set sysctl %s, got: %s' % (name, why))
                n += 1
            if not n:
                raise ScriptFailure(e.line, 'command `%s`: sysctl without name=value' % e.text)

    # ---- packets

    def inject(self, e):
        k = e.pkt
        f = self.flow_of(k)
        if not f.learned:
            f.lport, f.rport, f.learned = SCRIPT_PORT, DEFAULT_RPORT, True
        syn = k.flags & TCP_SYN
        if syn and f.remote_isn is None:
            f.remote_isn = k.seq
        seq = k.seq + (0 if syn else (f.remote_isn or 0))
        live, script = f.local_isn or (0, 0)
        ack_off = live - script if syn else live
        ack = k.ack + ack_off if k.flags & TCP_ACK else k.ack
        opts = bytearray(k.opts)
        if k.sack_off is not None:
            for j in range(2 * k.n_sack):
                o = k.sack_off + 2 + 4 * j
                v = struct.unpack('!I', opts[o:o + 4])[0]
                opts[o:o + 4] = struct.pack('!I', (v + ack_off) & 0xffffffff)
        if k.ts_off is not None and k.flags & TCP_ACK:
            o = k.ts_off + 6
            ecr = struct.unpack('!I', opts[o:o + 4])[0]
            livets = ecr
            for sv, lv in reversed(f.ts):
                if sv == ecr:
                    livets = lv
                    break
            else:
                if f.ts:
                    livets = (ecr - f.ts[0][0] + f.ts[0][1]) & 0xffffffff
            opts[o:o + 4] = struct.pack('!I', livets)
        self.wire.inject(tcp_packet(f.rport, f.lport, seq, ack, k.flags, k.win, k.urg, opts,
                                    k.len))

    def expect(self, e, t_us, end_us):
        k = e.pkt
        f = self.flow_of(k)
        want = fmt_script_pkt(k)
        if e.time == 'any':
            lo, hi = None, self.now_us + ANY_WAIT_US
            window = 'at any time'
        else:
            gap = t_us - max(f.last_us, self.last_call_us)
            late = self.tol_us if end_us != t_us else max(self.tol_us,
                                                          int(self.tol_pct / 100 * gap))
            # what the kernel does in answer to kdrill's previous event is as late as it was
            lo, hi = t_us - self.tol_us, end_us + late + self.own_late_us
            window = ('at %.6f s (%.6f~%.6f s)' % (t_us / 1e6, lo / 1e6, hi / 1e6)
                      if end_us == t_us else 'in %.6f~%.6f s (%.6f~%.6f s)' % (
                          t_us / 1e6, end_us / 1e6, lo / 1e6, hi / 1e6))
        g = None
        while True:
            self.pending += self.wire.collect(self.log if self.verbose else None)
            self.check_blocked()
            g = self.take(f)
            if g or self.clock_us() > hi:
                break
            self.wire.wait(min(0.05, (hi - self.clock_us()) / 1e6 + 0.001),
                           self.wake_r if self.blocked else None)
        if not g:
            raise ScriptFailure(e.line, 'expected %s %s, got nothing by %.6f s' % (
                want, window, hi / 1e6))
        syn = g.flags & TCP_SYN
        if syn and not f.local_isn:
            f.local_isn = (g.seq, k.seq)
        gts = self.ts_option(g.opts)
        if k.ts_off is not None and gts is not None:
            f.ts.append((struct.unpack('!I', k.opts[k.ts_off + 2:k.ts_off + 6])[0], gts))
        got = self.fmt_live(g)
        self.trace(g.t_us, '> %s   [line %d: %+.1f ms%s]' % (
            got, e.line, (g.t_us - t_us) / 1e3, '' if lo is None else
            ' in %+.1f~%+.1f' % ((lo - t_us) / 1e3, (hi - t_us) / 1e3)))
        if lo is not None and not lo <= g.t_us <= hi:
            raise ScriptFailure(e.line, 'expected %s %s, got it at %.6f s: %s' % (
                want, window, g.t_us / 1e6, got))
        live, script = f.local_isn or (0, 0)
        seq = (g.seq - (live - script if syn else live)) & 0xffffffff
        ack = g.ack
        if g.flags & TCP_ACK and not syn:
            ack = (ack - (f.remote_isn or 0)) & 0xffffffff
        field = None
        if g.flags != k.flags:
            field = 'flags'
        elif seq != k.seq:
            field = 'seq'
        elif ack != k.ack and (g.flags & TCP_ACK or k.has_ack):
            field = 'ack'
        elif g.len != k.len:
            field = 'length'
        elif k.win is not None and g.win != k.win:
            field = 'win'
        elif g.urg != k.urg:
            field = 'urg'
        elif not k.opts_any:
            field = compare_opts(k.opts, g.opts)
        if field:
            raise ScriptFailure(e.line, 'expected %s, got > %s at %.6f s (%s differs)' % (
                want, got, g.t_us / 1e6, field))
        return g.t_us

    @staticmethod
    def ts_option(o):
        i = 0
        while i < len(o):
            if o[i] == OPT_EOL:
                break
            if o[i] == OPT_NOP:
                i += 1
                continue
            if i + 1 >= len(o) or o[i + 1] < 2:
                break
            if o[i] == OPT_TS and o[i + 1] == 10:
                return struct.unpack('!I', o[i + 2:i + 6])[0]
            i += o[i + 1]
        return None

    # ---- the script

    def run(self):
        events = self.events
        if events and events[0].untimed and events[0].kind == 'command':
            self.command(events[0])     # the init command, before time 0
        self.t0 = self.wire.t0 = time.time()
        for e in events:
            if e.untimed:
                continue    # init (above) or cleanup: nothing to clean in a namespace
            inbound = e.kind == 'packet' and e.pkt.dir == '<'
            outbound = e.kind == 'packet' and e.pkt.dir == '>'
            anchor = self.last_us if (self.last_inbound and inbound) else self.now_us
            t = e.t_us + (anchor if e.time in ('rel', 'rel_range') else 0)
            end = t
            if e.time == 'abs_range':
                end = e.t_end_us
            elif e.time == 'rel_range':
                end = anchor + e.t_end_us
            elif e.time == 'any':
                t = end = self.now_us
            if outbound:
                self.now_us = self.expect(e, t, end)
                self.flow_of(e.pkt).last_us = t
                self.last_us = t
                self.last_inbound = False
                continue
            # our own event: at its time, or at once after a late packet it follows
            t_eff = max(t, self.now_us)
            self.pump(t_eff)
            at = self.clock_us()
            what = fmt_script_pkt(e.pkt) if inbound else e.text
            if at - t_eff > self.tol_us:
                raise ScriptFailure(e.line, 'expected to run `%s` at %.6f s, got there at %.6f s:'
                                    ' %s' % (what, t_eff / 1e6, at / 1e6, LATE), late=True)
            self.own_late_us = max(0, at - t)    # after its script time, for whatever reason
            t = t_eff
            self.check_unexpected(e.line, t)
            if inbound:
                self.trace(at, '%s   [line %d: %+.1f ms]' % (what, e.line, (at - t) / 1e3))
                self.inject(e)
                self.flow_of(e.pkt).last_us = t
            elif e.kind == 'call':
                self.start_call(e, t, anchor)
                self.last_call_us = t
            else:
                self.trace(at, '`%s`' % e.text)
                self.command(e)
                self.last_call_us = t
            self.now_us = t
            self.last_us = t
            self.last_inbound = inbound
        if self.blocked:
            b = self.blocked
            late = max(self.tol_us, int(self.tol_pct / 100 * (b.end_us - b.start_us)))
            self.pump(b.end_us + late)
            if self.blocked:
                raise ScriptFailure(b.e.line, 'expected %s() to return at %.6f s, got it still '
                                    'blocked at %.6f s' % (b.e.name, b.end_us / 1e6,
                                                           self.clock_us() / 1e6))
        self.pending += self.wire.collect(self.log if self.verbose else None)
        self.check_unexpected(events[-1].line if events else 0, self.now_us)
        return sum(1 for e in events if not e.untimed)


def counters():
    out = []
    for fn in ('/proc/self/net/netstat', '/proc/self/net/snmp'):
        with open(fn) as f:
            ls = f.read().splitlines()
        for names, vals in zip(ls[0::2], ls[1::2]):
            proto = names.split(':')[0]
            if proto not in ('Tcp', 'TcpExt'):
                continue
            for n, v in zip(names.split()[1:], vals.split()[1:]):
                if v != '0' and n not in ('RtoAlgorithm', 'RtoMin', 'RtoMax', 'MaxConn'):
                    out.append('%s=%s' % (n, v))
    return ' '.join(out)


def usage_error(msg):
    print('kdrill: %s (kdrill.py --help)' % msg, file=sys.stderr)
    return 2


def main(argv):
    tol_us, tol_pct, verbose, paths = 10000, 12.5, False, []
    i = 0
    while i < len(argv):
        a = argv[i]
        v = argv[i + 1] if i + 1 < len(argv) else None
        if a in ('--help', '-h'):
            try:
                print(__doc__.strip(), flush=True)
            except BrokenPipeError:
                pass
            return 0
        if a in ('--verbose', '-v'):
            verbose = True
        elif a in ('--tolerance-us', '--tolerance-percent'):
            try:
                x = float(v)
                if x < 0 or x != x:
                    raise ValueError
            except (TypeError, ValueError):
                return usage_error('bad %s: %s' % (a, v))
            if a == '--tolerance-us':
                tol_us = int(x)
            else:
                tol_pct = x
            i += 1
        elif a.startswith('-') and a != '-':
            return usage_error('unknown option %s' % a)
        else:
            paths.append(a)
        i += 1
    if len(paths) != 1:
        return usage_error('one script, please (each needs its own namespace)')
    path = paths[0]
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        return usage_error('cannot read %s: %s' % (path, e.strerror))
    why = fresh_netns_problem()
    if why:
        print('kdrill: refusing to run outside a fresh network namespace: %s '
              '(run: unshare -n /usr/bin/python3 %s ...)' % (why, sys.argv[0]), file=sys.stderr)
        return 2
    try:
        events, s_tol_us, s_tol_pct = Parser(text).script()
    except ScriptFailure as f:
        print('%s:%d: %s' % (path, f.line, f.msg), flush=True)
        return 1
    # the whole run is bounded: every absolute time, relative time and ...END, plus 60 s
    limit = int(sum(e.t_us + e.t_end_us + e.end_us for e in events) / 1e6) + WATCHDOG_S

    def watchdog():
        print('%s:0: expected the script to end, got it still running after %d s' % (path, limit))
        sys.stdout.flush()
        os._exit(1)
    timer = threading.Timer(limit, watchdog)
    timer.daemon = True
    timer.start()
    signal.signal(signal.SIGALRM, lambda *_: None)     # only interrupts a blocked call
    run = Run(path, events, s_tol_us if s_tol_us is not None else tol_us,
              s_tol_pct if s_tol_pct is not None else tol_pct, verbose)
    # real-time priority when allowed, for this process and its call threads: kdrill sleeps
    # nearly all the time, and a busy machine must not delay its events
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(RT_PRIORITY))
        rt = 'SCHED_FIFO %d' % RT_PRIORITY
    except OSError:
        rt = 'normal priority'
    if verbose:
        print('--- %s on Linux %s (tolerance %d us, %.1f%% of the gap, %s)' % (
            path, os.uname().release, run.tol_us, run.tol_pct, rt))
    try:
        run.wire = Wire()
    except OSError as e:
        print('%s:0: expected to set up the TUN device kd0, got %s' % (path, e), flush=True)
        return 1
    try:
        n = run.run()
    except BrokenPipeError:
        return 1
    except ScriptFailure as f:
        print('%s:%d: %s' % (path, f.line, f.msg), flush=True)
        if verbose:
            for g in run.pending:
                print('    not taken: %.6f s %s' % (g.t_us / 1e6, run.fmt_live(g)))
            print('    counters: %s' % counters())
        return 1
    if verbose:
        print('    counters: %s' % counters())
    print('%s: ok (%d events)' % (path, n), flush=True)
    return 0


if __name__ == '__main__':
    rc = main(sys.argv[1:])
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        pass
    os._exit(rc)    # a call thread still blocked in the kernel does not hold the exit

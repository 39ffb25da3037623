"""skypubsub: the Python 3 client of the skynet pub/sub hub (examples/pubsub). Standard library only.

Processes talk through named channels: a message is not sent to a process but published to a channel,
and the hub hands it to every subscriber of that channel (Lua services and other processes alike).

    import skypubsub

    def on_message(reader):
        print(reader.read_string() + ": " + reader.read_string())

    comm = skypubsub.Communicator("/tmp/skynet-pubsub.sock")        # or ("127.0.0.1", 7878) for TCP
    sub = skypubsub.Subscriber(comm, "chat", "string pair", on_message)
    pub = skypubsub.Publisher(comm, "chat", "string pair")
    writer = skypubsub.MessageWriter()
    writer.write_string("alice")
    writer.write_string("hello")
    pub.send(writer)
    ...
    comm.disconnect()

Everything is thread safe. A reader thread receives what the hub sends; by default it also runs the
subscribers' callbacks (dispatch="thread"). With dispatch="wait" the callbacks run instead in whichever
thread calls Communicator.wait(), as in the original Echo library (`while comm.wait(10): ...`). Frames are
sent under a lock, so publishers may be used from any number of threads.

Inside a callback run by the reader thread, nothing may wait for an answer from the hub (creating a
Subscriber, unsubscribe, sync, send(wait=True)): the answer would have to be read by that very thread.
Those calls raise RuntimeError there; Publisher.send() without wait is fine.

The wire format is documented in examples/pubsub/README.md.
"""
import queue
import socket
import struct
import sys
import threading
import time

__all__ = [
    "Communicator", "Publisher", "Subscriber", "MessageWriter", "MessageReader",
    "PubSubError", "ConnectionClosed", "ANY_TYPE", "PROTOCOL_VERSION",
]

PROTOCOL_VERSION = 1
ANY_TYPE = "*"
MAX_NAME = 255

# Frame kinds: client to hub
HELLO, SUBSCRIBE, UNSUBSCRIBE, PUBLISH, PING, BYE = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06
# hub to client
WELCOME, OK, ERROR, DELIVER, PONG, BYE_ACK = 0x81, 0x82, 0x83, 0x84, 0x85, 0x86

# Error codes (ERROR frames). The first four, and LIMIT on connect, end the connection.
E_MALFORMED, E_TOO_LARGE, E_UNKNOWN_KIND, E_PROTOCOL = 1, 2, 3, 4
E_TYPE_MISMATCH, E_NOT_SUBSCRIBED, E_LIMIT = 5, 6, 7
ERROR_NAMES = {
    1: "malformed", 2: "too large", 3: "unknown kind", 4: "protocol",
    5: "type mismatch", 6: "not subscribed", 7: "limit",
}

# Field tags of a message body
T_STRING, T_INTEGER, T_FLOAT, T_BYTES = 0x01, 0x02, 0x03, 0x04
_KIND = {T_STRING: "string", T_INTEGER: "integer", T_FLOAT: "float", T_BYTES: "bytes"}

_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
# Frames from the hub are at most its max_frame (told in WELCOME); anything beyond this is garbage.
_ABSOLUTE_MAX_FRAME = 16 * 1024 * 1024


class PubSubError(Exception):
    """An ERROR frame from the hub (or a local check with the same meaning)."""

    def __init__(self, code, message, req=0):
        super().__init__("%s (%s): %s" % (ERROR_NAMES.get(code, "error %d" % code), code, message))
        self.code = code
        self.message = message
        self.req = req


class ConnectionClosed(PubSubError):
    """The connection to the hub is gone."""

    def __init__(self, message="connection closed"):
        super().__init__(0, message)


def _name_bytes(name, what):
    if not isinstance(name, str):
        raise TypeError("%s must be a str, got %s" % (what, type(name).__name__))
    b = name.encode("utf-8")
    if not 1 <= len(b) <= MAX_NAME:
        raise ValueError("%s must be 1..%d bytes of UTF-8, got %d" % (what, MAX_NAME, len(b)))
    return b


# ----------------------------------------------------------------------------------------------- messages

class MessageWriter:
    """Builds a message body: a sequence of typed fields (strings, integers, floats, bytes)."""

    def __init__(self):
        self._parts = []
        self._count = 0

    def write_string(self, value):
        if not isinstance(value, str):
            raise TypeError("write_string needs a str, got %s" % type(value).__name__)
        b = value.encode("utf-8")
        self._parts.append(struct.pack(">BI", T_STRING, len(b)) + b)
        self._count += 1
        return self

    def write_int(self, value):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("write_int needs an int, got %s" % type(value).__name__)
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise OverflowError("integer fields are 64-bit signed: %d does not fit" % value)
        self._parts.append(struct.pack(">Bq", T_INTEGER, value))
        self._count += 1
        return self

    def write_float(self, value):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError("write_float needs a float, got %s" % type(value).__name__)
        self._parts.append(struct.pack(">Bd", T_FLOAT, float(value)))
        self._count += 1
        return self

    def write_bytes(self, value):
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise TypeError("write_bytes needs bytes, got %s" % type(value).__name__)
        b = bytes(value)
        self._parts.append(struct.pack(">BI", T_BYTES, len(b)) + b)
        self._count += 1
        return self

    def write(self, value):
        """Writes a field whose kind follows the Python type: str, int, float or bytes."""
        if isinstance(value, bool):
            raise TypeError("booleans are not a field type (write_int(int(b)) if you mean it)")
        if isinstance(value, str):
            return self.write_string(value)
        if isinstance(value, int):
            return self.write_int(value)
        if isinstance(value, float):
            return self.write_float(value)
        if isinstance(value, (bytes, bytearray, memoryview)):
            return self.write_bytes(value)
        raise TypeError("unsupported field type %s" % type(value).__name__)

    # The names of the original Echo library
    writeString = write_string
    writeInt = write_int
    writeFloat = write_float
    writeBytes = write_bytes

    def __len__(self):
        return self._count

    def data(self):
        """The encoded body."""
        return b"".join(self._parts)

    @classmethod
    def of(cls, *values):
        w = cls()
        for v in values:
            w.write(v)
        return w


def decode_fields(body):
    """[(kind, value), ...] of an encoded body; ValueError when it is malformed."""
    fields = []
    pos, end = 0, len(body)
    while pos < end:
        tag = body[pos]
        pos += 1
        if tag in (T_STRING, T_BYTES):
            if pos + 4 > end:
                raise ValueError("truncated field length")
            (size,) = struct.unpack_from(">I", body, pos)
            pos += 4
            if pos + size > end:
                raise ValueError("field longer than the message")
            raw = bytes(body[pos:pos + size])
            pos += size
            if tag == T_STRING:
                try:
                    value = raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise ValueError("string field is not UTF-8") from None
            else:
                value = raw
        elif tag == T_INTEGER:
            if pos + 8 > end:
                raise ValueError("truncated integer field")
            (value,) = struct.unpack_from(">q", body, pos)
            pos += 8
        elif tag == T_FLOAT:
            if pos + 8 > end:
                raise ValueError("truncated float field")
            (value,) = struct.unpack_from(">d", body, pos)
            pos += 8
        else:
            raise ValueError("unknown field tag 0x%02x" % tag)
        fields.append((_KIND[tag], value))
    return fields


class MessageReader:
    """Reads the fields of a received message in order. Also: channel, type, sender (the publisher's
    client id, or a Lua service's handle with bit 31 set; see from_service) and fields."""

    def __init__(self, body, channel=None, msg_type=None, sender=0, fields=None):
        self.body = bytes(body)
        self.fields = fields if fields is not None else decode_fields(self.body)
        self.channel = channel
        self.type = msg_type
        self.sender = sender
        self._pos = 0

    @property
    def from_service(self):
        """The skynet handle of the Lua service that published this, or None for a process."""
        return self.sender & 0x7FFFFFFF if self.sender & 0x80000000 else None

    def _take(self, kind):
        if self._pos >= len(self.fields):
            raise IndexError("no field %d to read (the message has %d)" % (self._pos + 1, len(self.fields)))
        k, v = self.fields[self._pos]
        if kind is not None and k != kind:
            raise TypeError("field %d is %s, not %s" % (self._pos + 1, k, kind))
        self._pos += 1
        return v

    def read_string(self):
        return self._take("string")

    def read_int(self):
        return self._take("integer")

    def read_float(self):
        return self._take("float")

    def read_bytes(self):
        return self._take("bytes")

    def read(self):
        """The next field whatever its kind."""
        return self._take(None)

    def remaining(self):
        return len(self.fields) - self._pos

    def values(self):
        return [v for _, v in self.fields]

    readString = read_string
    readInt = read_int
    readFloat = read_float
    readBytes = read_bytes

    def __repr__(self):
        return "MessageReader(channel=%r, type=%r, sender=%d, fields=%r)" % (
            self.channel, self.type, self.sender, self.fields)


# ------------------------------------------------------------------------------------------------ frames

def _frame(kind, payload=b""):
    return struct.pack(">IB", len(payload) + 1, kind) + payload


def _s1(b):
    return bytes((len(b),)) + b


def _parse_address(address):
    """A socket family and address: a path or "unix:/path", ("host", port), or "tcp:host:port"."""
    if isinstance(address, tuple):
        return socket.AF_INET6 if ":" in address[0] else socket.AF_INET, address
    if isinstance(address, str) and address.startswith("tcp:"):
        host, _, port = address[4:].rpartition(":")
        host = host.strip("[]")
        return socket.AF_INET6 if ":" in host else socket.AF_INET, (host, int(port))
    if isinstance(address, str) and address.startswith("unix:"):
        address = address[5:]
    return socket.AF_UNIX, address


class _Pending:
    __slots__ = ("event", "value", "error")

    def __init__(self):
        self.event = threading.Event()
        self.value = None
        self.error = None


class Communicator:
    """One connection to the hub. Publishers and subscribers are made on it.

    address: the Unix socket path (or "unix:/path"), ("host", port) or "tcp:host:port" for TCP.
    name: how the hub's log names this client.
    dispatch: "thread" (callbacks run on the reader thread) or "wait" (they run in wait()).
    on_error(err): ERROR frames that answer no waiting request (a refused send(), ...); default: stderr.
    on_disconnect(): called once when the connection ends, whoever ended it.
    """

    def __init__(self, address, name=None, timeout=10.0, dispatch="thread", on_error=None, on_disconnect=None):
        if dispatch not in ("thread", "wait"):
            raise ValueError('dispatch must be "thread" or "wait"')
        self.timeout = timeout
        self._dispatch = dispatch
        self._on_error = on_error
        self._on_disconnect = on_disconnect
        self._send_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._subscribe_lock = threading.RLock()    # subscription changes reach the hub in order
        self._pending = {}
        self._next_req = 0
        self._subscribers = {}       # channel -> [Subscriber]
        self._wire_types = {}        # channel -> the type the hub knows for us
        self._queue = queue.Queue()  # dispatch == "wait": (callback, reader)
        self._connected = False
        self._closed_event = threading.Event()
        self._bye_sent = False

        family, addr = _parse_address(address)
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            self._sock.settimeout(timeout)
            self._sock.connect(addr)
            if family != socket.AF_UNIX:
                self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            name_b = (name or "python").encode("utf-8")[:MAX_NAME]
            self._sock.sendall(_frame(HELLO, struct.pack(">H", PROTOCOL_VERSION) + _s1(name_b)))
            self._buf = bytearray()
            kind, payload = self._read_frame(_ABSOLUTE_MAX_FRAME)
            if kind == ERROR:
                req, code, text = self._parse_error(payload)
                raise PubSubError(code, text, req)
            if kind != WELCOME or len(payload) != 10:
                raise PubSubError(E_PROTOCOL, "expected WELCOME, got frame kind 0x%02x" % kind)
            version, self.client_id, self.max_frame = struct.unpack(">HII", payload)
            if version != PROTOCOL_VERSION:
                raise PubSubError(E_PROTOCOL, "hub speaks version %d" % version)
            self._sock.settimeout(None)
        except BaseException:
            self._sock.close()
            raise
        self._connected = True
        self._reader = threading.Thread(target=self._read_loop, name="skypubsub-reader", daemon=True)
        self._reader.start()

    # ---- state

    def is_connected(self):
        return self._connected

    isConnected = is_connected

    def wait(self, timeout_ms=None):
        """Runs the callbacks of messages received so far (dispatch="wait"), for up to timeout_ms; with
        dispatch="thread", just waits that long or until the connection ends. True while connected (or
        while received messages wait to be handled)."""
        deadline = None if timeout_ms is None else time.monotonic() + timeout_ms / 1000.0
        if self._dispatch == "thread":
            self._closed_event.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
            return self._connected
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            try:
                callback, reader = self._queue.get(timeout=left if left is not None else 0.1)
            except queue.Empty:
                if deadline is None and not self._connected:
                    break
                continue
            if callback is None:   # the reader thread ended
                break
            self._run_callback(callback, reader)
        return self._connected or not self._queue.empty()

    def sync(self, timeout=None):
        """Round trip to the hub: once this returns, every frame sent before was handled by the hub (so
        the deliveries of earlier publishes are on their way to every subscriber)."""
        self._request(lambda req: _frame(PING, struct.pack(">I", req)), timeout)

    def disconnect(self, timeout=None):
        """Says BYE, waits (bounded) for the hub's answer, closes. Subscriptions end with it."""
        if threading.current_thread() is getattr(self, "_reader", None):
            # Inside a callback: the reader thread cannot wait for itself; it ends after this callback.
            self._send_bye()
            return
        if self._connected:
            self._send_bye()
            self._closed_event.wait(self.timeout if timeout is None else timeout)
        self._close_socket()
        self._reader.join(self.timeout if timeout is None else timeout)

    close = disconnect

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.disconnect()

    # ---- publishing

    def publish(self, channel, msg_type, message=b"", wait=False, timeout=None):
        """Publishes a MessageWriter (or an encoded body) to a channel. With wait=True, waits for the hub
        and returns the number of subscribers reached; a refusal (type mismatch) raises PubSubError.
        Without, a refusal goes to on_error."""
        ch = _name_bytes(channel, "channel")
        mt = _name_bytes(msg_type, "message type")
        if msg_type == ANY_TYPE:
            raise PubSubError(E_TYPE_MISMATCH, "'*' is not a message type")
        body = message.data() if isinstance(message, MessageWriter) else bytes(message)
        size = 1 + 4 + 1 + len(ch) + 1 + len(mt) + len(body)
        if size > self.max_frame:
            raise ValueError("message too large: a frame of %d bytes, the hub takes at most %d" % (
                size, self.max_frame))
        head = _s1(ch) + _s1(mt)
        if wait:
            return self._request(lambda req: _frame(PUBLISH, struct.pack(">I", req) + head + body), timeout)
        self._send(_frame(PUBLISH, struct.pack(">I", 0) + head + body))
        return None

    # ---- subscriptions (used by Subscriber)

    def _wanted_type(self, channel):
        subs = self._subscribers.get(channel)
        if not subs:
            return None
        concrete = [s.type for s in subs if s.type != ANY_TYPE]
        return concrete[0] if concrete else ANY_TYPE

    def _add_subscriber(self, sub):
        self._forbid_in_reader("subscribe")
        with self._subscribe_lock:
            with self._state_lock:
                for other in self._subscribers.get(sub.channel, []):
                    if ANY_TYPE not in (sub.type, other.type) and sub.type != other.type:
                        raise PubSubError(E_TYPE_MISMATCH, "this communicator takes '%s' on '%s' already" % (
                            other.type, sub.channel))
                self._subscribers.setdefault(sub.channel, []).append(sub)
            try:
                self._sync_channel(sub.channel)
            except BaseException:
                with self._state_lock:
                    subs = self._subscribers.get(sub.channel, [])
                    if sub in subs:
                        subs.remove(sub)
                    if not subs:
                        self._subscribers.pop(sub.channel, None)
                raise

    def _remove_subscriber(self, sub):
        self._forbid_in_reader("unsubscribe")
        with self._subscribe_lock:
            with self._state_lock:
                subs = self._subscribers.get(sub.channel, [])
                if sub not in subs:
                    return False
                subs.remove(sub)
                if not subs:
                    self._subscribers.pop(sub.channel, None)
            if self._connected:
                self._sync_channel(sub.channel)
            return True

    def _sync_channel(self, channel):
        with self._state_lock:
            want = self._wanted_type(channel)
            have = self._wire_types.get(channel)
        if want == have:
            return
        ch = _name_bytes(channel, "channel")
        if want is None:
            self._request(lambda req: _frame(UNSUBSCRIBE, struct.pack(">I", req) + _s1(ch)))
            with self._state_lock:
                self._wire_types.pop(channel, None)
        else:
            mt = _name_bytes(want, "message type")
            self._request(lambda req: _frame(SUBSCRIBE, struct.pack(">I", req) + _s1(ch) + _s1(mt)))
            with self._state_lock:
                self._wire_types[channel] = want

    # ---- sending and requests

    def _forbid_in_reader(self, what):
        if threading.current_thread() is getattr(self, "_reader", None):
            raise RuntimeError("cannot %s inside a callback run by the reader thread (it would wait for "
                               "itself); use dispatch=\"wait\" or another thread" % what)

    def _send(self, data):
        if not self._connected:
            raise ConnectionClosed()
        with self._send_lock:
            try:
                self._sock.sendall(data)
            except OSError as e:
                raise ConnectionClosed("send failed: %s" % e) from None

    def _send_bye(self):
        with self._state_lock:
            if self._bye_sent or not self._connected:
                return
            self._bye_sent = True
        try:
            self._send(_frame(BYE))
        except ConnectionClosed:
            pass

    def _request(self, build, timeout=None):
        """Sends the frame build(req) and waits for the answer to req: OK's value, PONG, or raises."""
        self._forbid_in_reader("wait for the hub")
        p = _Pending()
        with self._state_lock:
            if not self._connected:
                raise ConnectionClosed()
            while True:
                self._next_req = self._next_req % 0xFFFFFFFF + 1
                if self._next_req not in self._pending:
                    break
            req = self._next_req
            self._pending[req] = p
        try:
            self._send(build(req))
            if not p.event.wait(self.timeout if timeout is None else timeout):
                raise TimeoutError("no answer from the hub")
        finally:
            with self._state_lock:
                self._pending.pop(req, None)
        if p.error is not None:
            raise p.error
        return p.value

    # ---- the reader thread

    def _read_exact(self, n):
        while len(self._buf) < n:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise ConnectionClosed("closed by the hub")
            self._buf += chunk
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    def _read_frame(self, limit):
        (length,) = struct.unpack(">I", self._read_exact(4))
        if length == 0 or length > limit:
            raise PubSubError(E_PROTOCOL, "bad frame length %d from the hub" % length)
        data = self._read_exact(length)
        return data[0], data[1:]

    @staticmethod
    def _parse_error(payload):
        req, code, size = struct.unpack_from(">IHH", payload)
        return req, code, payload[8:8 + size].decode("utf-8", "replace")

    def _read_loop(self):
        reason = "closed by the hub"
        try:
            limit = max(self.max_frame, 64) + 16
            while True:
                kind, payload = self._read_frame(limit)
                if kind == DELIVER:
                    self._on_deliver(payload)
                elif kind in (OK, PONG):
                    req = struct.unpack_from(">I", payload)[0]
                    value = struct.unpack_from(">I", payload, 4)[0] if kind == OK else None
                    self._answer(req, value, None)
                elif kind == ERROR:
                    req, code, text = self._parse_error(payload)
                    err = PubSubError(code, text, req)
                    if not self._answer(req, None, err):
                        self._report(err)
                elif kind == BYE_ACK:
                    reason = "disconnected"
                else:
                    raise PubSubError(E_PROTOCOL, "unexpected frame kind 0x%02x from the hub" % kind)
        except ConnectionClosed:
            pass
        except (OSError, PubSubError, struct.error, ValueError) as e:
            if not self._bye_sent:
                reason = str(e)
                self._report(e if isinstance(e, PubSubError) else ConnectionClosed(str(e)))
        finally:
            self._finish(reason)

    def _answer(self, req, value, error):
        with self._state_lock:
            p = self._pending.get(req) if req else None
        if p is None:
            return False
        p.value, p.error = value, error
        p.event.set()
        return True

    def _on_deliver(self, payload):
        sender, clen = struct.unpack_from(">IB", payload)
        pos = 5
        channel = payload[pos:pos + clen].decode("utf-8")
        pos += clen
        tlen = payload[pos]
        msg_type = payload[pos + 1:pos + 1 + tlen].decode("utf-8")
        body = payload[pos + 1 + tlen:]
        fields = decode_fields(body)
        with self._state_lock:
            subs = list(self._subscribers.get(channel, ()))
        for sub in subs:
            if sub.type != ANY_TYPE and sub.type != msg_type:
                continue
            reader = MessageReader(body, channel, msg_type, sender, list(fields))
            if self._dispatch == "thread":
                self._run_callback(sub.callback, reader)
            else:
                self._queue.put((sub.callback, reader))

    def _run_callback(self, callback, reader):
        try:
            callback(reader)
        except Exception as e:  # noqa: BLE001 - one bad callback must not stop the deliveries
            import traceback
            sys.stderr.write("skypubsub: a callback on %r raised %s\n" % (reader.channel, e))
            traceback.print_exc()

    def _report(self, err):
        if self._on_error is not None:
            try:
                self._on_error(err)
            except Exception:  # noqa: BLE001
                pass
        else:
            sys.stderr.write("skypubsub: %s\n" % err)

    def _finish(self, reason):
        with self._state_lock:
            self._connected = False
            pending = list(self._pending.values())
        for p in pending:
            p.error = ConnectionClosed(reason)
            p.event.set()
        self._queue.put((None, None))
        self._closed_event.set()
        self._close_socket()
        if self._on_disconnect is not None:
            try:
                self._on_disconnect()
            except Exception:  # noqa: BLE001
                pass

    def _close_socket(self):
        # shutdown first: it makes a send blocked in another thread fail at once, so the lock is free
        # soon; the descriptor is closed under the lock, so that no send can use its number afterwards
        # (the OS may give the number to a new file at once).
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        with self._send_lock:
            self._sock.close()


class Publisher:
    """Publishes messages of one type to one channel."""

    def __init__(self, communicator, channel, msg_type):
        _name_bytes(channel, "channel")
        _name_bytes(msg_type, "message type")
        if msg_type == ANY_TYPE:
            raise ValueError("'*' is not a message type")
        self.communicator = communicator
        self.channel = channel
        self.type = msg_type

    def send(self, message=b"", wait=False, timeout=None):
        """Sends a MessageWriter (or an encoded body). wait=True returns the number of subscribers
        reached, and raises PubSubError when the hub refuses."""
        return self.communicator.publish(self.channel, self.type, message, wait=wait, timeout=timeout)


class Subscriber:
    """Calls callback(reader) for every message published to the channel, reader being a MessageReader.
    msg_type "*" takes every type; otherwise the channel must carry msg_type (else PubSubError). Subscribed
    when the constructor returns."""

    def __init__(self, communicator, channel, msg_type, callback):
        _name_bytes(channel, "channel")
        _name_bytes(msg_type, "message type")
        if not callable(callback):
            raise TypeError("callback must be callable")
        self.communicator = communicator
        self.channel = channel
        self.type = msg_type
        self.callback = callback
        communicator._add_subscriber(self)

    def unsubscribe(self):
        """No more messages after this returns. False if it was not subscribed."""
        return self.communicator._remove_subscriber(self)

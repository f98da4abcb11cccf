# Spoke's Python sandbox bootstrap.
#
# It runs as the only program inside a bubblewrap sandbox and serves one
# invocation at a time for the Go host, over two pipes: fd 3 (host to worker)
# and fd 4 (worker to host). Each message is a 4-byte big-endian length
# followed by that many bytes of UTF-8 JSON; the messages are the same as the
# Node bootstrap's (see sandbox/node/bootstrap.js).
#
# HTTP(S) leaves through the host's egress proxy: a thread bridges a loopback
# port inside the sandbox's network namespace to the proxy's Unix socket, and
# HTTP_PROXY/HTTPS_PROXY point requests and urllib at it.
import asyncio
import datetime
import io
import json
import os
import socket
import struct
import sys
import threading
import time
import traceback
import types

IN_FD = 3
OUT_FD = 4
EGRESS_SOCK = "/run/spoke/egress.sock"
LOG_CAP = 64 * 1024
ACTION_FILE = "/action/main.py"

opts = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}

if opts.get("rlimitAS"):
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (opts["rlimitAS"], opts["rlimitAS"]))


# ---- framed protocol --------------------------------------------------------


def _read_full(n):
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(IN_FD, n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def read_message():
    h = _read_full(4)
    if h is None:
        return None
    (n,) = struct.unpack(">I", h)
    body = _read_full(n)
    if body is None:
        return None
    return json.loads(body)


def write_message(msg):
    body = json.dumps(msg, ensure_ascii=False).encode("utf-8", "surrogatepass")
    data = struct.pack(">I", len(body)) + body
    view = memoryview(data)
    while view:
        n = os.write(OUT_FD, view)
        view = view[n:]


# ---- logs -------------------------------------------------------------------

secrets = []
log_len = 0
log_truncated = False


def redact(s):
    for v in secrets:
        if v in s:
            s = s.replace(v, "[REDACTED]")
    return s


def append_log(level, text):
    global log_len, log_truncated
    if log_truncated:
        return
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    line = now + "\t" + level + "\t" + redact(text)
    if not line.endswith("\n"):
        line += "\n"
    if log_len + len(line) > LOG_CAP:
        line = line[: max(0, LOG_CAP - log_len)] + "\n[log truncated at 64 KB]\n"
        log_truncated = True
    log_len += len(line)
    # Stream each line to the host at once, so that the logs of an
    # invocation that times out or crashes are not lost.
    write_message({"op": "log", "text": line})


class Capture(io.TextIOBase):
    """Capture is a text stream that turns written lines into log lines."""

    def __init__(self, level):
        self.level = level
        self.pending = ""

    def writable(self):
        return True

    def write(self, s):
        s = str(s)
        self.pending += s
        while "\n" in self.pending:
            line, self.pending = self.pending.split("\n", 1)
            append_log(self.level, line)
        return len(s)

    def flush(self):
        if self.pending:
            append_log(self.level, self.pending)
            self.pending = ""

    def isatty(self):
        return False


out_capture = Capture("INFO")
err_capture = Capture("ERROR")
sys.stdout = out_capture
sys.stderr = err_capture
sys.__stdout__ = out_capture
sys.__stderr__ = err_capture


# ---- threads ----------------------------------------------------------------

# Nothing the code starts may outlive its invocation. The host kills
# leftover processes; threads it cannot kill without the interpreter, so the
# bootstrap reports any thread besides the main one and its own (the egress
# bridge's), and the host retires the worker.
MAIN_TID = threading.get_native_id()
_own_tids = set()
_own_lock = threading.Lock()


def _own(fn):
    """Wraps a thread target of the bootstrap's, so that its thread is not
    taken for one of the code's."""

    def run(*args):
        tid = threading.get_native_id()
        with _own_lock:
            _own_tids.add(tid)
        try:
            fn(*args)
        finally:
            with _own_lock:
                _own_tids.discard(tid)

    return run


def _foreign_threads():
    try:
        tids = {int(t) for t in os.listdir("/proc/self/task")}
    except OSError:
        return 0
    with _own_lock:
        tids -= _own_tids
    tids.discard(MAIN_TID)
    return len(tids)


def leftover_threads():
    # The task directory's link count is 2 + the number of threads: one
    # stat in the usual case, where they are the main one and the bridge's.
    try:
        n = os.stat("/proc/self/task").st_nlink - 2
        with _own_lock:
            if n <= 1 + len(_own_tids):
                return False
    except OSError:
        pass
    # A thread that has just finished (or one of the bridge's that has not
    # registered yet) may still be listed for a moment.
    for delay in (0, 0.002, 0.005, 0.01, 0.02, 0.05):
        if delay:
            time.sleep(delay)
        if _foreign_threads() == 0:
            return False
    return True


# ---- egress -----------------------------------------------------------------


def _pipe(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def _bridge_conn(c):
    # The bridge relays whatever arrives, often a TLS record at a time:
    # without TCP_NODELAY, Nagle's algorithm holds a small second record
    # until the client's delayed ACK (40 ms).
    try:
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass
    try:
        u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        u.connect(EGRESS_SOCK)
    except OSError:
        c.close()
        return
    t = threading.Thread(target=_own(_pipe), args=(u, c), daemon=True)
    t.start()
    _pipe(c, u)
    t.join()
    c.close()
    u.close()


def _bridge(ls):
    while True:
        try:
            c, _ = ls.accept()
        except OSError:
            return
        threading.Thread(target=_own(_bridge_conn), args=(c,), daemon=True).start()


def start_bridge():
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    threading.Thread(target=_own(_bridge), args=(ls,), daemon=True).start()
    return "http://127.0.0.1:%d" % ls.getsockname()[1]


PROXY_URL = start_bridge() if os.path.exists(EGRESS_SOCK) else ""
PROXY_ENV = {}
if PROXY_URL:
    for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        PROXY_ENV[k] = PROXY_URL
    PROXY_ENV["NO_PROXY"] = ""
    PROXY_ENV["no_proxy"] = ""
PROXY_ENV["SPOKE_API_URL"] = opts.get("apiURL", "")
# HTTPS to api.hubapi.com and api.hubspot.com reaches Spoke's API through the
# egress proxy, with a certificate from Spoke's CA: trust the system roots plus
# that CA. caDir is an OpenSSL hashed directory of both (requests takes one
# path, and the hubspot module reads the same variable); ssl's default
# contexts (urllib) load SSL_CERT_FILE, Spoke's CA alone, and search
# SSL_CERT_DIR. A directory, not a bundle: OpenSSL parses a bundle whole for
# every new context, which requests makes per connection.
if opts.get("caDir"):
    PROXY_ENV["REQUESTS_CA_BUNDLE"] = opts["caDir"]
    PROXY_ENV["SSL_CERT_DIR"] = opts["caDir"]
    PROXY_ENV["SSL_CERT_FILE"] = opts["caFile"]
# Libraries that find the home directory from HOME or /etc/passwd (absent
# here) fail without it: nltk does on import.
PROXY_ENV["HOME"] = "/tmp"
PROXY_ENV["OPENBLAS_NUM_THREADS"] = "1"
PROXY_ENV["OMP_NUM_THREADS"] = "1"

# DNS: the sandbox has no resolver; the egress proxy answers lookups over its
# socket, under the same rules as connections. Numeric addresses (the bridge
# is 127.0.0.1) answer locally, as before.
_orig_getaddrinfo = socket.getaddrinfo
_SERVICES = {"http": 80, "https": 443}


def _is_numeric(host):
    import ipaddress

    try:
        ipaddress.ip_address(host.split("%", 1)[0])
        return True
    except ValueError:
        return False


def _proxy_resolve(name):
    import urllib.parse

    u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        u.settimeout(15)
        u.connect(EGRESS_SOCK)
        u.sendall(("GET /.spoke/resolve?name=%s HTTP/1.1\r\nHost: spoke\r\nConnection: close\r\n\r\n" % urllib.parse.quote(name, safe="")).encode("ascii"))
        data = b""
        while True:
            chunk = u.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError as e:
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution (egress proxy: %s)" % e)
    finally:
        u.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status = head.split(b" ", 2)[1] if head.count(b" ") >= 1 else b""
    if status == b"200":
        return json.loads(body.decode("utf-8")).get("addresses") or []
    if b"x-spoke-egress: egress_denied" in head.lower():
        raise socket.gaierror(socket.EAI_NONAME, body.decode("utf-8", "replace").strip() or "EGRESS_DENIED: lookup of %s refused" % name)
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


def _getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
    if host is None or not os.path.exists(EGRESS_SOCK):
        return _orig_getaddrinfo(host, port, family, type, proto, flags)
    if isinstance(host, bytes):
        host = host.decode("idna")
    if _is_numeric(host) or flags & socket.AI_NUMERICHOST:
        return _orig_getaddrinfo(host, port, family, type, proto, flags)
    if isinstance(port, bytes):
        port = port.decode("ascii")
    if port is None:
        num = 0
    elif isinstance(port, int):
        num = port
    elif port.isdigit():
        num = int(port)
    elif port in _SERVICES:
        num = _SERVICES[port]
    else:
        raise socket.gaierror(socket.EAI_SERVICE, "Servname not supported for ai_socktype")
    try:
        idna = host.encode("idna").decode("ascii")
    except UnicodeError:
        idna = host
    types_ = [type] if type else [socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.SOCK_RAW]
    out = []
    for a in _proxy_resolve(idna):
        fam = socket.AF_INET6 if ":" in a else socket.AF_INET
        if family not in (0, socket.AF_UNSPEC, fam):
            continue
        sa = (a, num, 0, 0) if fam == socket.AF_INET6 else (a, num)
        for t in types_:
            p = proto or {socket.SOCK_STREAM: socket.IPPROTO_TCP, socket.SOCK_DGRAM: socket.IPPROTO_UDP}.get(t, 0)
            out.append((fam, t, p, host if flags & socket.AI_CANONNAME else "", sa))
    if not out:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return out


def _gethostbyname(host):
    return _getaddrinfo(host, 0, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]


def _gethostbyname_ex(host):
    addrs = [r[4][0] for r in _getaddrinfo(host, 0, socket.AF_INET, socket.SOCK_STREAM)]
    return host, [], addrs


socket.getaddrinfo = _getaddrinfo
socket.gethostbyname = _gethostbyname
socket.gethostbyname_ex = _gethostbyname_ex


def _patch_adapters(adapters):
    # A plain-HTTP request refused by the egress proxy comes back as a 403
    # from the proxy; make requests raise a clear error for it, as it does
    # for refused HTTPS tunnels.
    import requests.exceptions

    send = adapters.HTTPAdapter.send

    def patched_send(self, request, *args, **kwargs):
        resp = send(self, request, *args, **kwargs)
        if resp.headers.get("X-Spoke-Egress") == "EGRESS_DENIED":
            raise requests.exceptions.ConnectionError(resp.text.strip(), request=request, response=resp)
        return resp

    adapters.HTTPAdapter.send = patched_send

    # Debian's urllib3 gives every HTTPS pool the system bundle as ca_certs,
    # which requests leaves in place when REQUESTS_CA_BUNDLE is a directory:
    # OpenSSL would then parse the whole bundle for every connection (about
    # 100 ms). The sandbox's directory already holds the system roots.
    cert_verify = adapters.HTTPAdapter.cert_verify

    def patched_cert_verify(self, conn, url, verify, cert):
        cert_verify(self, conn, url, verify, cert)
        if opts.get("caDir") and getattr(conn, "ca_cert_dir", None) == opts["caDir"]:
            conn.ca_certs = None

    adapters.HTTPAdapter.cert_verify = patched_cert_verify


class _RequestsHook:
    """Patches requests.adapters when (and only if) the code imports it, so
    that workers that never use requests do not pay for importing it."""

    def find_spec(self, fullname, path, target=None):
        if fullname != "requests.adapters":
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is None:
                continue
            exec_module = spec.loader.exec_module

            def patched_exec(module, exec_module=exec_module):
                exec_module(module)
                _patch_adapters(module)

            spec.loader.exec_module = patched_exec
            return spec
        return None


sys.meta_path.insert(0, _RequestsHook())


for lib in opts.get("preload") or []:
    try:
        __import__(lib)
    except Exception:
        pass


# ---- invocations ------------------------------------------------------------

main = None
bound = False
load_error = None


def _status_of(e):
    for attr in ("status_code", "status", "code"):
        v = getattr(e, attr, None)
        if isinstance(v, int) and 100 <= v < 600:
            return v
    resp = getattr(e, "response", None)
    if resp is not None:
        for attr in ("status_code", "status"):
            v = getattr(resp, attr, None)
            if isinstance(v, int) and 100 <= v < 600:
                return v
    return 0


def _chain(e):
    seen = 0
    while e is not None and seen < 8:
        yield e
        e = e.__cause__ or e.__context__
        seen += 1


def classify(e):
    if isinstance(e, MemoryError):
        return "MEMORY_LIMIT"
    for x in _chain(e):
        s = _status_of(x)
        if s == 429 or s >= 500:
            return "RATE_LIMITED"
    for x in _chain(e):
        if "ratelimit" in type(x).__name__.lower().replace("_", ""):
            return "RATE_LIMITED"
    for x in _chain(e):
        hdrs = getattr(x, "headers", None) or getattr(getattr(x, "response", None), "headers", None)
        try:
            if hdrs is not None and hdrs.get("X-Spoke-Egress") == "EGRESS_DENIED":
                return "EGRESS_DENIED"
        except Exception:
            pass
        text = str(x)
        if "EGRESS_DENIED" in text or "403 Forbidden" in text and "Tunnel connection failed" in text:
            return "EGRESS_DENIED"
        if isinstance(x, OSError) and x.errno in (101, 113):
            return "EGRESS_DENIED"
    for x in _chain(e):
        if "rate limit" in str(x).lower() or "ratelimit" in str(x).lower():
            return "RATE_LIMITED"
    return "UNCAUGHT_ERROR"


def error_of(kind, e):
    msg = "%s: %s" % (type(e).__name__, e) if str(e) else type(e).__name__
    if kind == "EGRESS_DENIED" and "EGRESS_DENIED" not in msg:
        msg = (
            "EGRESS_DENIED: the connection was refused by Spoke's egress policy or is not "
            "available in the sandbox (raw sockets have no route out; use HTTP(S)): " + msg
        )
    stack = "".join(traceback.format_exception(type(e), e, e.__traceback__))
    return {"type": kind, "message": redact(msg), "stack": redact(stack)}


def load(code, env):
    global main, secrets
    os.environ.clear()
    os.environ.update(PROXY_ENV)
    secrets = []
    for k, v in (env or {}).items():
        os.environ[k] = str(v)
        if len(str(v)) >= 3:
            secrets.append(str(v))
    secrets.sort(key=len, reverse=True)
    try:
        compiled = compile(code, ACTION_FILE, "exec")
    except (SyntaxError, ValueError) as e:
        return {"type": "SYNTAX_ERROR", "message": redact("%s: %s" % (type(e).__name__, e)), "stack": redact("".join(traceback.format_exception_only(type(e), e)))}
    mod = types.ModuleType("main")
    mod.__file__ = ACTION_FILE
    sys.modules["main"] = mod
    try:
        exec(compiled, mod.__dict__)
    except BaseException as e:  # noqa: B902 - user code may raise anything
        return error_of(classify(e), e)
    main = getattr(mod, "main", None)
    if not callable(main):
        return {"type": "UNCAUGHT_ERROR", "message": "main is not defined: define def main(event)", "stack": ""}
    return None


def _json_default(o):
    if hasattr(o, "item") and callable(o.item):
        return o.item()
    if hasattr(o, "isoformat"):
        return o.isoformat()
    raise TypeError("Object of type %s is not JSON serializable" % type(o).__name__)


def run(msg):
    global bound, load_error
    unhealthy = False
    if not bound:
        bound = True
        load_error = load(msg.get("code", ""), msg.get("env"))
    if load_error:
        return None, load_error, True
    event = msg["event"]
    # Published snippets read inputs from event["fields"] as well as
    # event["inputFields"]: the same dict under both names.
    if isinstance(event, dict) and isinstance(event.get("inputFields"), dict):
        event.setdefault("fields", event["inputFields"])
    try:
        ret = main(event)
        if asyncio.iscoroutine(ret):
            ret = asyncio.run(ret)
    except SystemExit as e:
        return None, {"type": "RUNTIME_CRASH", "message": "the code called exit(%s)" % (e.code,), "stack": ""}, True
    except BaseException as e:  # noqa: B902
        return None, error_of(classify(e), e), unhealthy
    if ret is None:
        ret = {}
    if not isinstance(ret, dict):
        return None, {"type": "INVALID_OUTPUT", "message": "main must return a dict like {\"outputFields\": {...}}, got %s" % type(ret).__name__, "stack": ""}, False
    fields = ret.get("outputFields", {})
    if fields is None:
        fields = {}
    if not isinstance(fields, dict):
        return None, {"type": "INVALID_OUTPUT", "message": "outputFields must be a dict, got %s" % type(fields).__name__, "stack": ""}, False
    try:
        fields = json.loads(json.dumps(fields, default=_json_default, allow_nan=False))
    except (TypeError, ValueError, RecursionError) as e:
        return None, {"type": "INVALID_OUTPUT", "message": "outputFields is not serialisable to JSON: %s" % e, "stack": ""}, False
    return fields, None, False


def memory_bytes():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def serve():
    global log_len, log_truncated
    write_message({"op": "ready", "version": "%d.%d.%d" % sys.version_info[:3]})
    while True:
        msg = read_message()
        if msg is None:
            os._exit(0)
        log_len, log_truncated = 0, False
        fields, err, unhealthy = run(msg)
        out_capture.flush()
        err_capture.flush()
        res = {"op": "result", "id": msg["id"], "status": "SUCCESS", "outputFields": fields or {}, "unhealthy": unhealthy}
        if err:
            res["status"] = "ERROR"
            res["error"] = err
        if not opts.get("cgroupMemory"):
            res["memoryBytes"] = memory_bytes()
        if leftover_threads():
            res["leftover"] = True
        write_message(res)


serve()

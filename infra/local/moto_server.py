"""`python -m infra.local.moto_server --port N`: moto's server with the local speed-ups, in its
own process so that the emulator and the app each get a CPU core."""

from __future__ import annotations

import argparse
import io
import logging
import os
import selectors
import sys
import threading
import time
from types import SimpleNamespace
from typing import Any

import werkzeug.serving

from moto.moto_server.werkzeug_app import MotoRequestHandler

from infra.local import moto_speedups, moto_workflows


class KeepAliveRequestHandler(MotoRequestHandler):
    """moto's request handler, with HTTP/1.1 connections kept open between requests.

    werkzeug's development server closes the connection after every response, because
    `http.server` cannot skip a request body that the application left unread before it reads
    the next request line. Every AWS call of the local stack then opens a new TCP connection and
    starts a new server thread, which costs about a quarter of the stack's CPU time. This handler
    reads a body of known length before the application runs, so nothing is left unread, and
    drops only werkzeug's `Connection: close` for such requests. Chunked request bodies, requests
    that ask for the connection to close, and failed requests still close it.

    After each response werkzeug also reads whatever the client sent, to discard an unread body;
    on a kept connection that would swallow the next request. `_NoDrainSelector` turns that read
    into nothing for requests whose body was read here.
    """

    # A kept connection must not hold a response's body back until the client acknowledges its
    # headers, which Nagle's algorithm does and the client's delayed acknowledgement stretches.
    disable_nagle_algorithm = True
    _body_read = False

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        self._body_read = False
        if environ.get("wsgi.input_terminated"):
            return environ
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return environ
        if length < 0:
            return environ
        body = self.rfile.read(length) if length else b""
        if len(body) != length:
            return environ
        environ["wsgi.input"] = io.BytesIO(body)
        self._body_read = True
        _request_state.body_read = True
        return environ

    def handle_one_request(self) -> None:
        _request_state.body_read = False
        try:
            super().handle_one_request()
        finally:
            _request_state.body_read = False

    def send_header(self, keyword: str, value: str) -> None:
        # `close_connection` is already set when the request sent `Connection: close` or used HTTP/1.0.
        closing = self.close_connection or not self._body_read
        if not closing and keyword.lower() == "connection" and value.lower() == "close":
            return
        super().send_header(keyword, value)


_request_state = threading.local()


class _NoDrainSelector:
    """Stands in for the selector that werkzeug polls to drain a request's unread body, when
    the handler has already read all of it: it reports that nothing is waiting."""

    def register(self, *args: Any, **kwargs: Any) -> None:
        return None

    def select(self, timeout: float | None = None) -> list[Any]:
        return []

    def close(self) -> None:
        return None


def _drain_selector() -> Any:
    if getattr(_request_state, "body_read", False):
        return _NoDrainSelector()
    return selectors.DefaultSelector()


def install_keep_alive() -> None:
    """Serve moto with KeepAliveRequestHandler; only werkzeug's module in this process changes."""
    from moto import server

    # werkzeug creates the draining selector through its own `selectors` name.
    werkzeug.serving.selectors = SimpleNamespace(DefaultSelector=_drain_selector, EVENT_READ=selectors.EVENT_READ)
    # moto's `main` passes this module-level name to werkzeug as the request handler.
    server.MotoRequestHandler = KeepAliveRequestHandler


# How often the server checks that the process that started it still runs.
PARENT_CHECK_SECONDS = 1.0


def exit_with_parent(check_seconds: float = PARENT_CHECK_SECONDS) -> threading.Thread:
    """Watch the parent process in a daemon thread, and end this process when the parent is gone.

    A parent that was killed (SIGKILL, out of memory) cannot stop its children. Its children are
    then given to another parent, so a changed parent process id means it is gone.
    """
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(check_seconds)
        logging.getLogger("local_stack").error("the process %d that started the moto server exited; moto stops", parent)
        os._exit(1)

    thread = threading.Thread(target=watch, name="parent-watch", daemon=True)
    thread.start()
    return thread


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=5000, help="port to listen on")
    parser.add_argument(
        "--exit-with-parent", action="store_true", help="stop when the process that started the server exits"
    )
    args = parser.parse_args(argv)
    if args.exit_with_parent:
        exit_with_parent()

    moto_speedups.install()
    moto_workflows.install()
    # werkzeug logs one line per request; keep only warnings and errors.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    install_keep_alive()
    from moto import server

    server.main(["--host", args.host, "--port", str(args.port)])
    return 0


if __name__ == "__main__":
    sys.exit(main())

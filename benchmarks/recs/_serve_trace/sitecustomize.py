"""Per-phase timings inside ``kehu serve`` for ``serve_load.py --trace DIR`` (not a test).

On ``PYTHONPATH`` of the server only, so that every uvicorn worker imports it at start-up. With
``KEHU_SERVE_TRACE=DIR`` set it wraps, once ``kehu.app`` is imported: the recommendations
route's ``plan_recommendations`` and ``record_served``, the feedback and product reads, the
restraint, ``Session.commit``, every SQL statement (by its first two words, so ``BEGIN
IMMEDIATE`` waiting for SQLite's write lock shows apart), the wait for the concurrency limit
and the time inside the application, and the garbage collector's pauses (``gc.callbacks``).
Each process writes ``DIR/trace-<pid>.tsv`` (label, start, milliseconds, thread) once a second.
"""

import os

if os.environ.get("KEHU_SERVE_TRACE"):
    import gc
    import importlib.abc
    import importlib.machinery
    import sys
    import threading
    import time
    from typing import Any

    _lines: list[str] = []
    _clock = time.perf_counter
    _path = os.path.join(os.environ["KEHU_SERVE_TRACE"], f"trace-{os.getpid()}.tsv")
    _local = threading.local()

    def _emit(label: str, start: float, seconds: float) -> None:
        _lines.append(f"{label}\t{start:.6f}\t{seconds * 1000:.3f}\t{threading.get_ident()}\n")

    def _write_out() -> None:
        while True:
            time.sleep(1.0)
            if _lines:
                chunk = _lines[:]
                del _lines[: len(chunk)]
                with open(_path, "a") as out:
                    out.writelines(chunk)

    threading.Thread(target=_write_out, daemon=True).start()
    _gc_started: dict[str, float] = {}

    def _on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            _gc_started["t"] = _clock()
        elif "t" in _gc_started:
            _emit(f"gc gen{info['generation']}", _gc_started["t"], _clock() - _gc_started["t"])

    gc.callbacks.append(_on_gc)

    def _wrap(module: Any, name: str, label: str) -> None:
        function = getattr(module, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = _clock()
            try:
                return function(*args, **kwargs)
            finally:
                _emit(label, started, _clock() - started)

        setattr(module, name, timed)

    def _patch() -> None:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine
        from sqlalchemy.orm import Session

        import kehu.api.concurrency as concurrency
        import kehu.api.routes.recommendations as route
        import kehu.jobs.recommend as recommend

        _wrap(route, "plan_recommendations", "plan (all reads)")
        _wrap(route, "record_served", "record impressions")
        _wrap(recommend, "list_serving_feedback", "  feedback read")
        _wrap(recommend, "_products", "  products read")
        _wrap(recommend, "apply_restraint", "  restraint")
        commit = Session.commit

        def timed_commit(self: Session) -> None:
            started = _clock()
            try:
                commit(self)
            finally:
                _emit("commit", started, _clock() - started)

        Session.commit = timed_commit  # type: ignore[method-assign]

        @event.listens_for(Engine, "before_cursor_execute")
        def _before(*_: Any) -> None:
            _local.t = _clock()

        @event.listens_for(Engine, "after_cursor_execute")
        def _after(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if getattr(_local, "t", None) is not None:
                words = " ".join(statement.split()[:2])[:28]
                _emit(f"sql {words}", _local.t, _clock() - _local.t)

        limited = concurrency.ConcurrencyLimit.__call__

        async def timed_call(self: Any, scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await limited(self, scope, receive, send)
                return
            started = _clock()
            async with self._limiter():
                entered = _clock()
                _emit("wait for the concurrency limit", started, entered - started)
                await self.app(scope, receive, send)
                _emit("in the application", entered, _clock() - entered)

        concurrency.ConcurrencyLimit.__call__ = timed_call  # type: ignore[method-assign]

    class _AfterApp(importlib.abc.MetaPathFinder):
        """Patch once ``kehu.app`` has been executed (then step aside)."""

        def find_spec(self, fullname: str, path: Any, _target: Any = None) -> Any:
            if fullname != "kehu.app":
                return None
            sys.meta_path.remove(self)
            spec = importlib.machinery.PathFinder.find_spec(fullname, path)
            if spec is None or spec.loader is None:
                return spec
            execute = spec.loader.exec_module

            def exec_module(module: Any) -> None:
                execute(module)
                _patch()

            spec.loader.exec_module = exec_module  # type: ignore[method-assign]
            return spec

    sys.meta_path.insert(0, _AfterApp())

"""The store interface over HTTP, the server's end: `POST /admin/store/{operation}`.

While `shortlist serve` owns the embedded store, this user's other processes (CLI reads, an
ingest, a worker's flow run) use it through the server with `ServedStore`
(shortlist/api/served_store.py), which sends each call here. The arguments are checked
against the interface's own signatures (shortlist/store/interface.py), so the wire format
cannot drift from what the stores take.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter, ValidationError
from pydantic_core import to_jsonable_python

from shortlist.errors import NotFound
from shortlist.store.interface import VideoStore

READS = ("get", "get_many", "durations", "count", "vectors", "newest", "hybrid_search",
         "fused_neighbours", "liked_neighbours", "nearest", "keyword_ranking",
         "physical_collection")
# Points are written through POST /admin/points, which checks each one against the
# collection; a rebuild runs in the server (POST /admin/reindex).
WRITES = ("delete", "optimize")
RETURNS_HITS = ("hybrid_search", "fused_neighbours", "liked_neighbours")


def call(store: VideoStore, operation: str, arguments: dict[str, Any]) -> Any:
    """Run one interface call on `store`; the answer as JSON-ready values."""
    if operation not in READS + WRITES:
        raise NotFound(f"no store operation {operation!r}: one of {', '.join(READS + WRITES)}")
    checked = _checker(operation)(arguments)
    return to_jsonable_python(getattr(store, operation)(**checked))


@functools.cache
def _checker(operation: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    signature = inspect.signature(getattr(VideoStore, operation), eval_str=True)
    parameters = {name: p for name, p in signature.parameters.items() if name != "self"}
    adapters = {name: TypeAdapter(p.annotation) for name, p in parameters.items()}

    def check(arguments: dict[str, Any]) -> dict[str, Any]:
        unknown = set(arguments) - set(parameters)
        missing = {n for n, p in parameters.items()
                   if p.default is inspect.Parameter.empty and n not in arguments}
        if unknown or missing:
            raise ValueError(f"{operation} takes {', '.join(parameters) or 'no arguments'}"
                             f"; unknown: {sorted(unknown)}, missing: {sorted(missing)}")
        checked = {}
        for name, value in arguments.items():
            try:
                checked[name] = adapters[name].validate_python(value)
            except ValidationError as exc:
                raise ValueError(f"{operation}: {name}: {exc.errors()[0]['msg']}") from None
        return checked

    return check

"""Load for tests/test_nodes.py: readers (nearest, a bounding box) and writers (a status PATCH with
If-Match), each a thread with one keep-alive connection to one node, recording every answer with
the moment it was sent and received."""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from helpers import UKRAINE
from node_support import STATUSES, Node, Write
from server_support import Client

PAUSE_AFTER_503_S = 0.1  # a client told Retry-After does not hammer the node meanwhile


@dataclass(frozen=True)
class Answer:
    kind: str  # nearest, bbox, read (a writer's GET), patch
    node: str
    sent: float  # monotonic
    answered: float
    status: int | None  # None: no answer (a connection error)
    as_of: bool = False  # the answer carried X-Data-As-Of


@dataclass
class Tally:
    answers: list[Answer] = field(default_factory=list)
    acknowledged: list[Write] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # tags of PATCHes answered 412
    cut_off: list[str] = field(default_factory=list)  # tags of PATCHes sent but never answered
    crashed: str = ""


class Loader(threading.Thread):
    """One client of one node, until stop is set."""

    def __init__(self, name: str, node: str, port: int, stop: threading.Event, seed: int):
        super().__init__(name=name, daemon=True)
        self.node, self.port, self.stop = node, port, stop
        self.rng = random.Random(seed)
        self.tally = Tally()
        self.client: Client | None = None

    def run(self) -> None:
        self.client = Client(self.port, timeout=10)
        try:
            while not self.stop.is_set():
                self.step()
        except Exception as error:  # a bug in this thread must fail the test, not vanish
            self.tally.crashed = repr(error)
        finally:
            self.client.close()

    def step(self) -> None:
        raise NotImplementedError

    def send(self, kind: str, method: str, path: str, body=None, headers=None):
        sent = time.monotonic()
        try:
            status, answer, data = self.client.call(method, path, body, headers)
        except (OSError, http.client.HTTPException):
            self.tally.answers.append(Answer(kind, self.node, sent, time.monotonic(), None))
            return None, None, b""
        as_of = answer.get("X-Data-As-Of") is not None
        self.tally.answers.append(Answer(kind, self.node, sent, time.monotonic(), status, as_of))
        return status, answer, data


class Reader(Loader):
    """A citizen's map: nearest (half of them in plain distance order) and bounding boxes."""

    def step(self) -> None:
        min_lat, max_lat, min_lon, max_lon = UKRAINE
        lat, lon = self.rng.uniform(min_lat, max_lat), self.rng.uniform(min_lon, max_lon)
        if self.rng.random() < 0.7:
            query = f"lat={lat:.5f}&lon={lon:.5f}&k={self.rng.randint(1, 10)}"
            if self.rng.random() < 0.5:
                query += "&order=distance"
            self.send("nearest", "GET", f"/api/v1/nearest?{query}")
        else:
            half = self.rng.uniform(0.05, 0.3)
            box = f"{lon - half:.4f},{lat - half / 2:.4f},{lon + half:.4f},{lat + half / 2:.4f}"
            self.send("bbox", "GET", f"/api/v1/points?bbox={box}")


class Writer(Loader):
    """An integration updating statuses: GET the point's ETag, PATCH with If-Match."""

    def __init__(self, name: str, node: str, port: int, stop: threading.Event, seed: int, token, ids):
        super().__init__(name, node, port, stop, seed)
        self.auth = {"Authorization": f"Bearer {token}"}  # token calls are never rate limited
        self.ids = ids
        self.writes = 0

    def step(self) -> None:
        point_id = self.rng.choice(self.ids)
        path = f"/api/v1/points/{point_id}"
        status, answer, _ = self.send("read", "GET", path, None, self.auth)
        if status != 200:
            self.stop.wait(PAUSE_AFTER_503_S if status == 503 else 0)
            return
        self.writes += 1
        tag = f"{self.name}-{self.writes}"
        body = {"status": self.rng.choice(STATUSES), "note": tag}
        status, _, data = self.send("patch", "PATCH", path, body, self.auth | {"If-Match": answer["ETag"]})
        if status == 200:
            self.tally.acknowledged.append(Write(point_id, json.loads(data)["properties"]["version"], tag))
        elif status == 412:
            self.tally.refused.append(tag)
        elif status is None:
            self.tally.cut_off.append(tag)
        elif status == 503:
            self.stop.wait(PAUSE_AFTER_503_S)


class PacedReader(Loader):
    """Nearest lookups at a steady rate (not as fast as it can: the machine is not saturated, so
    a latency figure says something); latencies in seconds."""

    def __init__(self, name: str, node: str, port: int, stop: threading.Event, seed: int, every_s: float):
        super().__init__(name, node, port, stop, seed)
        self.every_s = every_s
        self.next_at = time.monotonic()

    def step(self) -> None:
        self.stop.wait(max(0.0, self.next_at - time.monotonic()))
        self.next_at = max(self.next_at + self.every_s, time.monotonic())
        min_lat, max_lat, min_lon, max_lon = UKRAINE
        lat, lon = self.rng.uniform(min_lat, max_lat), self.rng.uniform(min_lon, max_lon)
        self.send("nearest", "GET", f"/api/v1/nearest?lat={lat:.5f}&lon={lon:.5f}&k=5")


def run_all(loaders: list[Loader]) -> None:
    for loader in loaders:
        loader.start()


def join_all(loaders: list[Loader], timeout: float = 30) -> list[Answer]:
    """Wait for every loader; all their answers. A hung or crashed loader fails the test."""
    deadline = time.monotonic() + timeout
    for loader in loaders:
        loader.join(timeout=max(0.1, deadline - time.monotonic()))
    assert not any(loader.is_alive() for loader in loaders), "a load thread hung"
    crashed = [f"{loader.name}: {loader.tally.crashed}" for loader in loaders if loader.tally.crashed]
    assert not crashed, crashed
    return [answer for loader in loaders for answer in loader.tally.answers]


def statuses(answers) -> Counter:
    return Counter((answer.kind, answer.status) for answer in answers)


def writers_of(nodes: list[Node], token: str, ids: list[str], per_node: int, stop: threading.Event):
    """per_node writers on each node, each with points of its own (no PATCH of theirs races)."""
    share = len(ids) // (len(nodes) * per_node)
    writers = []
    for i, node in enumerate(nodes):
        for w in range(per_node):
            n = i * per_node + w
            own = ids[n * share : (n + 1) * share]
            writers.append(Writer(f"{node.name}w{w}", node.name, node.port, stop, 300 + n, token, own))
    return writers


def first_success_after(answers, node: str, moment: float) -> float | None:
    """When node first acknowledged a write sent after moment."""
    done = [a.answered for a in answers if a.node == node and a.kind == "patch" and a.status == 200]
    later = [when for when in done if when > moment]
    return min(later) if later else None

"""The console's "my points": the points I look after, searched (id, name, address, settlement:
search/listing.py), filtered by status, region, kind, stale and archive, and ordered problems
first or nearest to me, a page at a time. Everything is in the query string, so the list works
without JavaScript and a link to it can be shared."""

from __future__ import annotations

import math
from dataclasses import dataclass

from flask import g, render_template, request, url_for
from flask_babel import gettext

from locator.console.session import bp, login_required, stale_after, store
from locator.domain.filters import PointFilter
from locator.domain.parsers import parse_coordinate, whole_number
from locator.domain.point import Kind, Status, utcnow
from locator.domain.users import Role
from locator.domain.validation import parse_enum
from locator.search.listing import matches_text, nearest_first, search_key
from locator.services import places

PROBLEM_ORDER = {Status.UNCONFIRMED: 0, Status.CLOSED: 1, Status.FULL: 2, Status.STANDBY: 3, Status.OPEN: 4}
PAGE_SIZE = 50  # rows on one page of "my points": a phone should not render hundreds
MAX_QUERY = 200  # characters of the search kept; a longer one is cut, never an error
SORTS = ("problems", "near")
LIST_ARGS = ("q", "status", "region", "kind", "stale", "archived", "sort", "lat", "lon")


@dataclass(frozen=True)
class ListQuery:
    """What the list's query string asks for; a value that makes no sense is left out."""

    q: str = ""
    status: Status | None = None
    region: str = ""
    kind: Kind | None = None
    stale: bool = False
    archived: bool = False
    sort: str = "problems"
    here: tuple[float, float] | None = None  # lat, lon for the nearest sort
    page: int = 1

    @classmethod
    def from_args(cls, args) -> ListQuery:
        def choice(enum, name):
            try:
                return parse_enum(enum, args.get(name, "")) if args.get(name, "").strip() else None
            except ValueError:
                return None

        try:
            here = (parse_coordinate(args.get("lat"), -90, 90), parse_coordinate(args.get("lon"), -180, 180))
        except ValueError:
            here = None
        sort = args.get("sort", "")
        return cls(
            q=args.get("q", "").strip()[:MAX_QUERY],
            status=choice(Status, "status"),
            region=args.get("region", "").strip()[:MAX_QUERY],
            kind=choice(Kind, "kind"),
            stale=args.get("stale") == "1",
            archived=args.get("archived") == "1",
            sort=sort if sort in SORTS else "problems",
            here=here,
            page=max(1, whole_number(args.get("page", "")) or 1),
        )

    def args(self, **changes) -> dict[str, str]:
        """The query string of this list (with changes), without empty values: links keep it."""
        values = {
            "q": self.q,
            "status": self.status.value if self.status else "",
            "region": self.region,
            "kind": self.kind.value if self.kind else "",
            "stale": "1" if self.stale else "",
            "archived": "1" if self.archived else "",
            "sort": self.sort if self.sort != "problems" else "",
            "lat": f"{self.here[0]:.6f}" if self.here else "",
            "lon": f"{self.here[1]:.6f}" if self.here else "",
        } | {name: str(value) for name, value in changes.items()}
        return {name: value for name, value in values.items() if value and (name, value) != ("page", "1")}


@bp.get("/")
@login_required
def points():
    """List the points I look after: problems first (citizens' reports, stale, status), or the
    nearest to me first; search and filters from the query string; a page at a time."""
    asked = ListQuery.from_args(request.args)
    wanted = PointFilter(
        statuses=frozenset({asked.status}) if asked.status else frozenset(),
        kinds=frozenset({asked.kind}) if asked.kind else frozenset(),
        region=asked.region,
        include_archived=asked.archived,
    )
    now, stale = utcnow(), stale_after()
    user = g.user
    editor = places.in_public_names(user)
    text = search_key(asked.q)
    mine = [
        p
        for p in store().find(wanted)
        if (user.role is not Role.OPERATOR or editor.may_edit(places.spelt_publicly(p)))
        and (not asked.stale or p.is_stale(now, stale))
        and (p.archived == asked.archived)
        and matches_text(p, text)
    ]
    reports = store().reports.open_counts()
    distances: dict[str, float] = {}
    notice = None
    if asked.sort == "near" and asked.here is not None:
        ordered = nearest_first(mine, [p.at(now) for p in mine], *asked.here)
        distances = {p.id: metres for metres, p in ordered}
        mine = [p for _, p in ordered]
    else:
        if asked.sort == "near":
            notice = gettext("Місце невідоме: дозвольте геолокацію і натисніть «Найближчі до мене».")
        # Citizens' open reports first, then stale, then by how much of a problem the status is.
        mine.sort(
            key=lambda p: (
                p.id not in reports,
                not p.is_stale(now, stale),
                PROBLEM_ORDER[p.public_status],
                p.name,
                p.id,
            )
        )
    pages = max(1, math.ceil(len(mine) / PAGE_SIZE))
    page = min(asked.page, pages)
    shown = mine[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    return render_template(
        "operator/points.html",
        points=shown,
        total=len(mine),
        first=(page - 1) * PAGE_SIZE + 1,
        page=page,
        pages=pages,
        previous_url=url_for("operator.points", **asked.args(page=page - 1)) if page > 1 else None,
        next_url=url_for("operator.points", **asked.args(page=page + 1)) if page < pages else None,
        distances=distances,
        notice=notice,
        now=now,
        stale_after=stale,
        reports={point_id: sum(counts.values()) for point_id, counts in reports.items()},
        statuses=list(Status),
        kinds=list(Kind),
        regions=store().regions(),
        asked=asked,
    )

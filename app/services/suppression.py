"""What is hidden from whom: one suppression decision per survey, shared by every view.

Every figure a reader can obtain about one measure of a survey (the responses, the respondents
of one question, the respondents with a satisfaction index) is a sum over one table: communes
(rows) × groups of a demographic question (columns, 0 = did not answer it); the commune
breakdown is the same table with one column. A commune's figure (`?by=unit`, `?unit=`) is a
row total, a group's figure over the whole survey (`?by=QUESTION`) a column total, a group
within a commune (`?unit=&by=`) a cell, and the whole survey the grand total.

The rule, made once per survey over all its responses and applied by every view:
1. A row, column or cell counting 1 to threshold − 1 people is hidden; a grand total that
   small hides everything.
2. No hidden figure may be worked out by adding and subtracting shown ones. Draw the hidden
   figures as a graph: each hidden cell joins its commune and its group, each hidden commune
   (group) joins the node of all hidden communes (groups). Every node's total is known, so a
   hidden figure can be worked out exactly when its edge lies on no cycle (a bridge). While
   some edge is a bridge, the next smallest figure beside it is hidden too: another commune
   for a commune, another group for a group, another cell of the same commune (or group) for
   a cell.
3. Hamlets (issue 20): a commune's figure is the sum of its hamlets' and of "no hamlet named";
   those are a commune's own one-column table, decided as the commune table is (a hamlet of 1
   to threshold − 1 hidden, and never alone: the next smallest beside it too), and a hidden
   commune hides all its hamlets. The channels (online, assisted, kiosk, paper, and the
   tallied paper forms apart) are a commune × group table like a demographic question's.
   No view crosses a hamlet or a channel with a demographic question, or a hamlet with a
   channel, so these tables are the only ones their figures come from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

Cell = tuple[int, int]  # (commune code, group: a choice number, 0 = no answer; 0 for communes)
RESPONSES = "*responses"
INDEX = "*index"


@dataclass(frozen=True)
class TableDecision:
    """What one table hides: whole communes (rows), whole groups (columns), single cells."""

    everything: bool = False
    rows: frozenset[int] = frozenset()
    cols: frozenset[int] = frozenset()
    cells: frozenset[Cell] = frozenset()

    def hides(self, row: int | None = None, col: int | None = None) -> bool:
        if self.everything or (row is not None and row in self.rows):
            return True
        if col is not None and col in self.cols:
            return True
        return row is not None and col is not None and (row, col) in self.cells


@dataclass(frozen=True)
class SurveyDecision:
    """The tables of one survey: (demographic question key or None for communes, measure)."""

    threshold: int
    tables: dict[tuple[str | None, str], TableDecision] = field(default_factory=dict)

    def hidden(
        self,
        measure: str = RESPONSES,
        unit: int | None = None,
        demographic: str | None = None,
        group: int | None = None,
    ) -> bool:
        """Whether the figure of `measure` for `unit` (None: the whole survey), within
        `group` of `demographic` (None: everyone) is hidden."""
        table = self.tables.get((None, measure)) or self.tables.get((None, RESPONSES))
        if table is None:
            return False
        if table.hides(unit):
            return True
        if demographic is None:
            return False
        cross = self.tables.get((demographic, measure)) or self.tables.get((demographic, RESPONSES))
        return cross is not None and cross.hides(unit, group)

    def units(self, measure: str = RESPONSES) -> frozenset[int]:
        """The communes hidden for `measure` (with responses; see `everything`)."""
        table = self.tables.get((None, measure), TableDecision())
        return table.rows

    def everything(self, measure: str = RESPONSES) -> bool:
        """Whether the whole survey is below the threshold: then every commune is hidden, also
        those without responses, or the only commune with some would equal the total."""
        return self.tables.get((None, measure), TableDecision()).everything


def decide_table(
    counts: dict[Cell, int],
    rows: Iterable[int],
    cols: Iterable[int],
    threshold: int,
    start: TableDecision | None = None,
    rows_fixed: bool = False,
) -> TableDecision:
    """The hidden rows, columns and cells of one table (rule in the module's docstring),
    starting from what `start` already hides; `rows_fixed`: communes are decided elsewhere
    (by the commune table), so only groups and cells may be added."""
    rows, cols = sorted(rows), sorted(cols)
    start = start or TableDecision()
    value = {(r, c): int(counts.get((r, c), 0)) for r in rows for c in cols}
    row_total = {r: sum(value[r, c] for c in cols) for r in rows}
    col_total = {c: sum(value[r, c] for r in rows) for c in cols}
    grand = sum(row_total.values())
    everything = TableDecision(True, frozenset(rows), frozenset(cols))
    if start.everything or 0 < grand < threshold:
        return everything
    small = range(1, threshold)
    hidden_rows = set(start.rows) | (
        set() if rows_fixed else {r for r in rows if row_total[r] in small}
    )
    hidden_cols = set(start.cols) | {c for c in cols if col_total[c] in small}
    hidden_cells = set(start.cells) | {cell for cell, n in value.items() if n in small}
    if len(cols) == 1:  # the commune table: a cell is its row
        hidden_rows |= {r for r, _c in hidden_cells}
        hidden_cells = set()
    for _round in range(len(value) + len(rows) + len(cols) + 1):
        bridge = _first_bridge(rows, cols, hidden_rows, hidden_cols, hidden_cells)
        if bridge is None:
            return TableDecision(
                False, frozenset(hidden_rows), frozenset(hidden_cols), frozenset(hidden_cells)
            )
        kind, key = bridge
        if kind == "row":
            if rows_fixed:
                break
            more = _smallest([r for r in rows if r not in hidden_rows], row_total)
            if more is None:
                break
            hidden_rows.add(more)
        elif kind == "col":
            more = _smallest([c for c in cols if c not in hidden_cols], col_total)
            if more is None:
                break
            hidden_cols.add(more)
        else:
            r, c = key  # type: ignore[misc]
            shown = [
                cell
                for cell in value
                if cell not in hidden_cells
                and cell[0] not in hidden_rows
                and cell[1] not in hidden_cols
                and cell != (r, c)
            ]
            more = _smallest([x for x in shown if x[0] == r], value) or _smallest(
                [x for x in shown if x[1] == c], value
            )
            if more is None:
                break
            hidden_cells.add(more)
    return everything


def decide_hamlets(
    counts: dict[Cell, int],
    communes: TableDecision,
    threshold: int,
    start: TableDecision | None = None,
) -> TableDecision:
    """The hidden hamlets of one measure: a table of (commune, hamlet code, 0 for "no hamlet
    named") whose rows add up to the commune's figure (rule 3 of the module's docstring).
    `communes`: the commune table's decision for the measure (a hidden commune hides all its
    hamlets); `start`: what is hidden already (the responses' hamlets, for a question)."""
    if communes.everything:
        return TableDecision(True, communes.rows)
    start = start or TableDecision()
    cells: set[Cell] = set()
    by_commune: dict[int, dict[Cell, int]] = {}
    for (commune, slot), n in counts.items():
        by_commune.setdefault(commune, {})[slot, 0] = int(n)
    for commune, slots in by_commune.items():
        if commune in communes.rows:
            continue
        hidden = {slot for (c, slot) in start.cells if c == commune}
        if len(slots) == 1 and not hidden:
            continue  # one slot: the commune's own figure, which the commune table decides
        one = decide_table(
            slots,
            [slot for slot, _c in slots],
            [0],
            threshold,
            TableDecision(rows=frozenset(hidden)),
        )
        if one.everything:  # the commune itself is small (then the commune table hides it)
            cells |= {(commune, slot) for slot, _c in slots}
        else:
            cells |= {(commune, slot) for slot in one.rows}
    return TableDecision(False, communes.rows, frozenset(), frozenset(cells))


def _smallest(keys: list, size: dict) -> object | None:  # type: ignore[type-arg]
    """The key of the smallest figure, people before empty ones (an empty group hides little)."""
    if not keys:
        return None
    return min(keys, key=lambda k: (size[k] == 0, size[k], k))


def _first_bridge(
    rows: list[int],
    cols: list[int],
    hidden_rows: set[int],
    hidden_cols: set[int],
    hidden_cells: set[Cell],
) -> tuple[str, object] | None:
    """The first hidden figure that adding and subtracting could work out: a bridge of the
    graph of hidden figures (Tarjan's algorithm on a multigraph)."""
    edges: list[tuple[object, object, tuple[str, object]]] = []
    for r in sorted(hidden_rows):
        edges.append((("r", r), "R*", ("row", r)))
    for c in sorted(hidden_cols):
        edges.append((("c", c), "C*", ("col", c)))
    for r in rows:
        for c in cols:
            if r in hidden_rows or c in hidden_cols or (r, c) in hidden_cells:
                if len(cols) == 1:
                    continue  # the commune table: the row edge is the cell
                edges.append((("r", r), ("c", c), ("cell", (r, c))))
    if len(cols) == 1:
        # One column (the commune table): a hidden commune is one unknown, and only their sum
        # is known (the grand total less the communes shown).
        edges = [(("c", cols[0]), "R*", ("row", r)) for r in sorted(hidden_rows)]
    adjacent: dict[object, list[tuple[object, int]]] = {}
    for i, (a, b, _label) in enumerate(edges):
        adjacent.setdefault(a, []).append((b, i))
        adjacent.setdefault(b, []).append((a, i))
    order: dict[object, int] = {}
    low: dict[object, int] = {}
    bridges: set[int] = set()
    for root in adjacent:
        if root in order:
            continue
        order[root] = low[root] = len(order)
        stack: list[tuple[object, int, int]] = [(root, -1, 0)]
        while stack:
            node, via, next_i = stack[-1]
            if next_i < len(adjacent[node]):
                stack[-1] = (node, via, next_i + 1)
                other, edge = adjacent[node][next_i]
                if edge == via:
                    continue
                if other in order:
                    low[node] = min(low[node], order[other])
                else:
                    order[other] = low[other] = len(order)
                    stack.append((other, edge, 0))
            else:
                stack.pop()
                if stack:
                    parent = stack[-1][0]
                    low[parent] = min(low[parent], low[node])
                    if low[node] > order[parent]:
                        bridges.add(via)
    for i, (_a, _b, label) in enumerate(edges):
        if i in bridges:
            return label
    return None


NOT_STATED = 0  # the row of a commune's responses that name no hamlet

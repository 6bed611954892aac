"""A naive, independent reading of INSIGHTS.md: plain Python over every invoice line, exact
Fractions, one rule after another. It shares nothing with `alerts.rules` but the run's scores (the
segments, ranks and percentiles a run stored), which are the rules' input.

Each function returns {(account or None, subject_type, subject): amount (Decimal, to the cent)}."""

from __future__ import annotations

import statistics
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

ORDER = ["core", "opportunistic", "service_drain", "marginal", "lapsed"]
RANKED = ["core", "service_drain", "opportunistic", "marginal"]


def cents(value) -> Decimal:
    value = Fraction(value)
    d = Decimal(value.numerator) / Decimal(value.denominator)
    amount = d.quantize(Decimal("0.01"), ROUND_HALF_EVEN)
    return amount if amount > 0 else Decimal("0.00")


def F(x) -> Fraction:
    return Fraction(str(x))


class Ref:
    def __init__(self, *, lines, scores, previous, attrs, products, settings, as_of, window_days, model):
        self.lines, self.scores, self.previous, self.attrs = lines, scores, previous, attrs
        self.products, self.s, self.as_of, self.W, self.model = products, settings, as_of, window_days, model

    def age(self, line) -> int:
        return (self.as_of - line["invoice_date"]).days

    def in_window(self, line) -> bool:
        return 0 <= self.age(line) < self.W

    def in_prior(self, line) -> bool:
        return self.W <= self.age(line) < 2 * self.W

    def recent(self, line) -> bool:
        return 0 <= self.age(line) < int(self.s["recent_days"])

    def earlier(self, line) -> bool:
        return 365 <= self.age(line) < 365 + int(self.s["recent_days"])

    @staticmethod
    def kept(line) -> bool:
        return line["quantity"] >= 0 and line["revenue"] >= 0

    def revenue(self, account, test, extra=lambda line: True) -> Fraction:
        return sum(
            (F(x["revenue"]) for x in self.lines if x["customer_id"] == account and test(x) and extra(x)), Fraction(0)
        )

    def segment(self, account):
        return self.scores[account]["segment"]

    # -- kinds ---------------------------------------------------------------------------------------
    def moved_down(self):
        out = {}
        for account, row in self.scores.items():
            before, now = row["previous_segment"], row["segment"]
            if before in ORDER and now in ORDER and ORDER.index(now) > ORDER.index(before):
                before_np = self.previous.get(account, {}).get("net_profit") or 0.0
                now_np = 0.0 if now == "lapsed" else (row["net_profit"] or 0.0)
                out[(account, "customer", account)] = abs(Decimal(str(now_np)) - Decimal(str(before_np))).quantize(
                    Decimal("0.01"), ROUND_HALF_EVEN
                )
        return out

    def lapsed(self):
        return {
            (a, "customer", a): cents(self.revenue(a, self.in_prior))
            for a, row in self.scores.items()
            if row["segment"] == "lapsed" and row["previous_segment"] in RANKED
        }

    def slipping(self):
        out = {}
        for a, row in self.scores.items():
            if row["segment"] not in ("core", "service_drain"):
                continue
            r, y = self.revenue(a, self.recent), self.revenue(a, self.earlier)
            if y > 0 and r < (1 - F(self.s["slip_drop"])) * y:
                out[(a, "customer", a)] = cents(y - r)
        return out

    def overdue(self):
        out = {}
        for a in self.scores:
            dates = sorted({x["invoice_date"] for x in self.lines if x["customer_id"] == a and self.in_window(x)
                            and self.kept(x)})  # fmt: skip
            if len(dates) < int(self.s["overdue_min_orders"]):
                continue
            median = Fraction(statistics.median([(b - c).days for c, b in zip(dates, dates[1:], strict=False)]))
            days = (self.as_of - dates[-1]).days
            if days > F(self.s["overdue_factor"]) * median and days > int(self.s["overdue_min_days"]):
                window = self.revenue(a, self.in_window)
                out[(a, "customer", a)] = cents(window * (days - median) / self.W)
        return out

    def _category(self, line):
        return self.products[line["product_id"]]["category"]

    def category_leakage(self):
        out = {}
        for a, row in self.scores.items():
            if row["segment"] != "core":
                continue
            w_tot, p_tot = self.revenue(a, self.in_window), self.revenue(a, self.in_prior)
            cats = {self._category(x) for x in self.lines if x["customer_id"] == a and self.in_prior(x)} - {""}
            for c in cats:
                pc = self.revenue(a, self.in_prior, lambda x, c=c: self._category(x) == c)
                wc = self.revenue(a, self.in_window, lambda x, c=c: self._category(x) == c)
                if (
                    p_tot > 0
                    and pc >= F(self.s["leak_min_share"]) * p_tot
                    and wc < (1 - F(self.s["leak_drop"])) * pc
                    and w_tot >= F(self.s["leak_total_floor"]) * p_tot
                ):
                    out[(a, "category", c)] = cents(pc - wc)
        return out

    def category_gap(self):
        core = [a for a, r in self.scores.items() if r["segment"] == "core"]
        if not core:
            return {}
        bought = defaultdict(set)
        for x in self.lines:
            if self.in_window(x) and self.kept(x) and self._category(x):
                bought[x["customer_id"]].add(self._category(x))
        out = {}
        for c in sorted({c for cs in bought.values() for c in cs}):
            buyers = [a for a in core if c in bought[a]]
            if Fraction(len(buyers), len(core)) < F(self.s["gap_core_share"]):
                continue
            median = statistics.median(
                [self.revenue(a, self.in_window, lambda x, c=c: self._category(x) == c) for a in buyers]
            )
            for a, row in self.scores.items():
                if row["segment"] in ("core", "service_drain", "opportunistic") and c not in bought[a]:
                    out[(a, "category", c)] = cents(median)
        return out

    def replenishment_due(self):
        out = {}
        pairs = defaultdict(list)
        for x in self.lines:
            if (self.in_window(x) or self.in_prior(x)) and x["customer_id"] in self.scores:
                pairs[(x["customer_id"], x["product_id"])].append(x)
        for (a, p), rows in pairs.items():
            dates = sorted({x["invoice_date"] for x in rows if self.kept(x)})
            if not dates:
                continue
            cycle = self.products[p]["cycle"]
            if not cycle or cycle <= 0:
                if len(dates) < int(self.s["replenish_min_dates"]):
                    continue
                cycle = Fraction(statistics.median([(b - c).days for c, b in zip(dates, dates[1:], strict=False)]))
            days = (self.as_of - dates[-1]).days
            if cycle <= days < 2 * cycle:
                out[(a, "product", p)] = cents(sum(F(x["revenue"]) for x in rows) / len(dates))
        return out

    def near_core(self):
        core = [r for r in self.scores.values() if r["segment"] == "core"]
        if not core:
            return {}
        median_np = statistics.median([Decimal(str(r["net_profit"])) for r in core])
        out = {}
        for a, r in self.scores.items():
            if r["segment"] == "opportunistic":
                threshold, rank = 1 - self.model["value_top_share"], r["value_rank"]
            elif r["segment"] == "service_drain":
                threshold, rank = 1 - self.model["profit_top_share"], r["profit_rank"]
            else:
                continue
            if rank <= threshold and threshold - rank <= float(self.s["near_core_gap"]) + 1e-12:
                own = Decimal(str(r["net_profit"]))
                out[(a, "customer", a)] = max((median_np - own).quantize(Decimal("0.01"), ROUND_HALF_EVEN), Decimal(0))
        return out

    def cost_to_serve_fix(self):
        def ratio(r):
            return r["cost_to_serve"] / r["revenue"] * 1000

        core = [r for r in self.scores.values() if r["segment"] == "core" and (r["revenue"] or 0) > 0]
        if not core:
            return {}
        core_median = statistics.median([ratio(r) for r in core])
        out = {}
        for a, r in self.scores.items():
            if r["segment"] != "service_drain" or not (r["revenue"] or 0) > 0:
                continue
            if ratio(r) >= (1 + float(self.s["cost_excess"])) * core_median - 1e-9:
                saved = r["cost_to_serve"] - core_median * r["revenue"] / 1000
                out[(a, "customer", a)] = max(
                    Decimal(repr(float(saved))).quantize(Decimal("0.01"), ROUND_HALF_EVEN), Decimal("0.00")
                )
        return out

    def core_slowdown(self):
        core = {a for a, r in self.scores.items() if r["segment"] == "core"}
        lines = [x for x in self.lines if x["customer_id"] in core]
        y_tot = sum((F(x["revenue"]) for x in lines if self.earlier(x)), Fraction(0))
        r_tot = sum((F(x["revenue"]) for x in lines if self.recent(x)), Fraction(0))
        if y_tot <= 0 or r_tot < F(self.s["slowdown_total_floor"]) * y_tot:
            return {}
        out = {}
        for subject_type, field in (("category", "category"), ("brand", "brand"), ("supplier", "supplier_id")):
            values = {self.products[x["product_id"]][field] for x in lines} - {""}
            for v in values:
                mine = [x for x in lines if self.products[x["product_id"]][field] == v]
                y = sum((F(x["revenue"]) for x in mine if self.earlier(x)), Fraction(0))
                r = sum((F(x["revenue"]) for x in mine if self.recent(x)), Fraction(0))
                if y > 0 and y >= F(self.s["slowdown_min_share"]) * y_tot and r < (1 - F(self.s["slowdown_drop"])) * y:
                    out[(None, subject_type, v)] = cents(y - r)
        return out

    def segment_shift(self):
        if not self.previous:
            return {}
        out = {}
        for subject_type, field in (("branch", "branch"), ("customer_class", "customer_class"), ("rep", "rep")):
            now, before = defaultdict(list), defaultdict(list)
            for a, r in self.scores.items():
                now[self.attrs[a][field]].append(r["segment"])
            for a, r in self.previous.items():
                before[self.attrs[a][field]].append(r["segment"])
            for g in set(now) & set(before) - {""}:
                share_now = Fraction(now[g].count("core"), len(now[g]))
                share_before = Fraction(before[g].count("core"), len(before[g]))
                if (share_before - share_now) * 100 >= F(self.s["shift_points"]):
                    left = [
                        a
                        for a, r in self.previous.items()
                        if self.attrs[a][field] == g
                        and r["segment"] == "core"
                        and self.scores.get(a, {}).get("segment") != "core"
                    ]
                    total = sum((Decimal(str(self.previous[a]["net_profit"] or 0.0)) for a in left), Decimal(0))
                    out[(None, subject_type, g)] = max(total.quantize(Decimal("0.01"), ROUND_HALF_EVEN), Decimal(0))
        return out

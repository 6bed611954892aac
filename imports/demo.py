"""A synthetic distributor of any size with the shape of a real one, as canonical import frames.

Pure numpy/pandas, vectorised, deterministic by seed. `DemoDistributor(customers=, lines=, seed=)`
draws the "world" once (reps, branches, customers with their archetype and trend, products, partners)
and then yields invoice lines in fixed-size chunks, so memory stays flat however many lines are asked
for. The frames use the canonical column names of docs/DATA_FORMAT.md, so they can be written as CSV
(the import benchmark) or handed to `imports.services.load_frame` (the `demo_data` command).

The shape it models:
- spend is Pareto-distributed: a few large accounts, a long tail;
- archetypes: `core` (large, healthy margin), `service_drain` (large, poor margin, frequent small
  orders, returns, special orders, deliveries, slow payers), `opportunistic` (small, high margin,
  occasional large orders, pick up or parcel, pay fast), `marginal` (small, thin margin) and `ordinary`;
- trends over three years of history: stable, growing, declining, new and lapsed (nothing bought in
  the last year);
- reps with books of business in branches, house accounts without a rep, 30+ categories, brands
  from suppliers, resellers and installers as partners on some sales, several ship methods and
  channels, days to pay, interactions.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

HISTORY_DAYS = 3 * 365
DEFAULT_CHUNK = 500_000

CATEGORIES = [
    # (name, base gross margin, consumable replacement cycle in days or 0)
    ("Fasteners", 0.38, 90),
    ("Pipe & Fittings", 0.24, 0),
    ("Valves", 0.27, 0),
    ("Building Wire", 0.16, 0),
    ("Lighting", 0.30, 365),
    ("HVAC Controls", 0.29, 0),
    ("Pumps", 0.23, 0),
    ("Safety & PPE", 0.36, 60),
    ("Janitorial", 0.33, 30),
    ("Power Tools", 0.21, 0),
    ("Hand Tools", 0.31, 0),
    ("Abrasives", 0.37, 45),
    ("Adhesives & Sealants", 0.35, 60),
    ("Bearings", 0.28, 180),
    ("Power Transmission", 0.26, 365),
    ("Hydraulics", 0.25, 0),
    ("Pneumatics", 0.27, 0),
    ("Welding Supplies", 0.29, 60),
    ("Plumbing Fixtures", 0.22, 0),
    ("Water Heaters", 0.17, 0),
    ("Conduit & Fittings", 0.22, 0),
    ("Circuit Protection", 0.24, 0),
    ("Motors", 0.19, 0),
    ("Drives & Automation", 0.18, 0),
    ("Material Handling", 0.23, 0),
    ("Packaging", 0.30, 30),
    ("Lubricants", 0.32, 90),
    ("Filters", 0.34, 90),
    ("Cutting Tools", 0.33, 60),
    ("Test Instruments", 0.25, 0),
    ("Ladders", 0.24, 0),
    ("Storage & Shelving", 0.22, 0),
    ("Paint & Coatings", 0.28, 120),
    ("Insulation", 0.21, 0),
    ("Ductwork", 0.20, 0),
    ("Refrigerants", 0.15, 180),
    ("Irrigation", 0.26, 0),
    ("Signage & Labels", 0.40, 0),
]

BRAND_WORDS = [
    "Apex", "Bolt", "Crest", "Delta", "Everline", "Forge", "Granite", "Harbor", "Ironclad", "Jetstream",
    "Keystone", "Lumen", "Meridian", "Northstar", "Omni", "Pioneer", "Quantum", "Ridge", "Summit", "Titan",
    "Unity", "Vanguard", "Westfield", "Xact", "Yardline", "Zenith", "Atlas", "Beacon", "Cobalt", "Dynamo",
]  # fmt: skip
BRAND_SUFFIX = ["Industrial", "Pro", "Works", "Supply Co", "Manufacturing", "Tech"]
CITY_BRANCHES = [
    ("Houston", "South"), ("Dallas", "South"), ("Atlanta", "Southeast"), ("Charlotte", "Southeast"),
    ("Chicago", "Midwest"), ("Columbus", "Midwest"), ("Denver", "Mountain"), ("Phoenix", "Southwest"),
    ("Seattle", "Northwest"), ("Sacramento", "West"), ("Newark", "Northeast"), ("Boston", "Northeast"),
    ("Minneapolis", "Midwest"), ("Nashville", "Southeast"), ("Kansas City", "Midwest"), ("Tampa", "Southeast"),
]  # fmt: skip
NAME_A = [
    "Allied", "Bayside", "Canyon", "Diamond", "Eagle", "Frontier", "Golden", "Heritage", "Ideal", "Jackson",
    "Lakeside", "Metro", "National", "Oakridge", "Precision", "Quality", "Riverside", "Sterling", "Tri-County",
    "United", "Valley", "Western", "Premier", "Coastal", "Capitol", "Liberty", "Pinnacle", "Superior",
]  # fmt: skip
NAME_B = [
    "Mechanical", "Electric", "Plumbing", "HVAC", "Construction", "Builders", "Facilities", "Manufacturing",
    "Fabrication", "Maintenance", "Contracting", "Services", "Controls", "Automation", "Property Management",
    "Machine Works", "Energy", "Utilities", "Hospital", "School District",
]  # fmt: skip
NAME_C = ["Inc", "LLC", "Co", "Corp", "Group", "& Sons", "Partners", "Ltd"]
FIRST_NAMES = ["Alex", "Jordan", "Maria", "Sam", "Priya", "Chris", "Dana", "Luis", "Kim", "Omar", "Grace", "Tom"]
LAST_NAMES = ["Nguyen", "Smith", "Garcia", "Patel", "Johnson", "Okafor", "Miller", "Chen", "Rossi", "Brown"]

# Customer classes and the supply-chain role each one plays.
CLASSES = np.array(["contractor", "OEM", "reseller", "institution", "end user", "installer", "MRO"], dtype=object)
CLASS_ROLE = np.array(["end_user", "oem", "reseller", "end_user", "end_user", "installer", "end_user"], dtype=object)
CLASS_P = np.array([0.34, 0.10, 0.10, 0.10, 0.14, 0.10, 0.12])
# Each class's own buying habits (issue 14): its ship-method mix (order of SHIP_METHODS), blended into
# the archetype's for all but the service drains, and the channel it mostly orders through.
# Contractors buy at the counter, OEMs by EDI with freight, end users through installers, institutions
# on the web.
CLASS_SHIP = np.array(
    [
        [0.15, 0.70, 0.05, 0.02, 0.03, 0.05],  # contractor: will call at the counter
        [0.15, 0.02, 0.05, 0.08, 0.68, 0.02],  # OEM: freight
        [0.40, 0.10, 0.20, 0.15, 0.10, 0.05],  # reseller
        [0.15, 0.03, 0.17, 0.02, 0.03, 0.60],  # institution: the web shop
        [0.55, 0.10, 0.20, 0.05, 0.02, 0.08],  # end user: delivered to site (installers)
        [0.60, 0.25, 0.05, 0.05, 0.03, 0.02],  # installer
        [0.50, 0.20, 0.15, 0.02, 0.03, 0.10],  # MRO
    ]
)
CLASS_SHIP_WEIGHT = 0.6
CLASS_CHANNEL = np.array(["counter", "edi", "direct", "web", "direct", "direct", "phone"], dtype=object)
INDUSTRIES = np.array(
    ["construction", "manufacturing", "healthcare", "education", "government", "food processing", "energy",
     "property management", "agriculture", "transportation"],
    dtype=object,
)  # fmt: skip
REASONS = np.array(
    ["price", "availability", "delivery speed", "technical support", "credit terms", "product range",
     "relationship", "emergency supply"],
    dtype=object,
)  # fmt: skip

SHIP_METHODS = np.array(["delivery", "will_call", "parcel", "drop_ship", "freight", "web"], dtype=object)
ARCHETYPES = ["core", "service_drain", "opportunistic", "marginal", "ordinary"]
CORE, DRAIN, OPPORTUNISTIC, MARGINAL, ORDINARY = range(5)
# Per archetype: mean lines per invoice, mean quantity, discount, margin offset, return and special-order
# rates, mean days to pay, interactions per year, ship-method mix (order of SHIP_METHODS).
ARCH = {
    "lines_per_invoice": np.array([5.0, 1.6, 6.0, 2.0, 3.0]),
    "quantity": np.array([8.0, 2.0, 14.0, 3.0, 5.0]),
    "discount": np.array([0.06, 0.18, 0.0, 0.10, 0.04]),
    "margin": np.array([0.02, -0.13, 0.12, -0.09, 0.0]),
    "returns": np.array([0.02, 0.09, 0.01, 0.04, 0.025]),
    "special": np.array([0.02, 0.14, 0.01, 0.03, 0.03]),
    "days_to_pay": np.array([32.0, 62.0, 14.0, 48.0, 38.0]),
    "interactions": np.array([14.0, 30.0, 2.0, 6.0, 6.0]),
    "ship": np.array(
        [
            [0.45, 0.15, 0.10, 0.05, 0.15, 0.10],
            [0.80, 0.05, 0.05, 0.06, 0.02, 0.02],
            [0.08, 0.45, 0.30, 0.02, 0.05, 0.10],
            [0.40, 0.25, 0.15, 0.05, 0.05, 0.10],
            [0.35, 0.25, 0.15, 0.05, 0.08, 0.12],
        ]
    ),
}
STABLE, GROWING, DECLINING, NEW, LAPSED = range(5)
TRENDS = ["stable", "growing", "declining", "new", "lapsed"]

LINE_COLUMNS = [
    "invoice_id", "line_no", "invoice_date", "customer_id", "product_id", "quantity", "revenue", "cost",
    "ship_method", "branch", "rep_id", "channel", "partner_id", "special_order", "days_to_pay",
]  # fmt: skip
# Columns a lines-only export carries so unknown customers and products can be created from it.
LINE_DESCRIPTION_COLUMNS = ["customer_name", "category", "brand"]


def _ids(prefix: str, n: int, width: int) -> np.ndarray:
    return np.array([f"{prefix}{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


def _pick(rng: np.random.Generator, words, n: int) -> np.ndarray:
    return np.asarray(words, dtype=object)[rng.integers(0, len(words), n)]


def _choice_rows(rng: np.random.Generator, cum: np.ndarray) -> np.ndarray:
    """One categorical draw per row, each row with its own cumulative probabilities (n x k)."""
    u = rng.random(cum.shape[0])
    return np.minimum((u[:, None] > cum).sum(axis=1), cum.shape[1] - 1)


@dataclass(frozen=True)
class Counts:
    customers: int
    lines: int
    products: int
    reps: int
    branches: int
    partners: int


class DemoDistributor:
    """The generated distributor. Frames are built on demand; lines are yielded in chunks."""

    def __init__(
        self, *, customers: int, lines: int, seed: int = 7, end_date: date | None = None, chunk_size=DEFAULT_CHUNK
    ):
        if customers < 1 or lines < 0:
            raise ValueError("customers must be >= 1 and lines >= 0")
        self.n_customers = customers
        self.n_lines = lines
        self.seed = seed
        self.chunk_size = max(1, chunk_size)
        # History ends yesterday: the latest complete day an ERP export would hold.
        self.end_date = end_date or (date.today() - timedelta(days=1))
        self.start_date = self.end_date - timedelta(days=HISTORY_DAYS - 1)
        self._start64 = np.datetime64(self.start_date, "D")
        rng = np.random.default_rng([seed, 0])
        self._world(rng)

    # ---------------------------------------------------------------------------------------------
    # The world: branches, reps, suppliers and brands, products, partners, customers.
    def _world(self, rng: np.random.Generator) -> None:
        n = self.n_customers
        n_branches = int(np.clip(round(np.sqrt(n) / 4), 3, len(CITY_BRANCHES)))
        n_reps = int(np.clip(n // 45, n_branches, 400))
        n_products = int(np.clip(np.sqrt(max(self.n_lines, 1)) * 8, 400, 60_000))
        n_suppliers = 24
        n_brands = 60
        n_partners = int(np.clip(n // 25, 8, 2_000))
        self.counts = Counts(n, self.n_lines, n_products, n_reps, n_branches, n_partners + n_suppliers)

        # Branches and reps: rep r works in branch r % n_branches.
        self.branch_names = np.array([c for c, _ in CITY_BRANCHES[:n_branches]], dtype=object)
        self.branch_regions = np.array([r for _, r in CITY_BRANCHES[:n_branches]], dtype=object)
        self.rep_ids = _ids("R", n_reps, 3)
        self.rep_branch = np.arange(n_reps) % n_branches
        first, last = _pick(rng, FIRST_NAMES, n_reps), _pick(rng, LAST_NAMES, n_reps)
        self.rep_names = first + " " + last
        self.rep_emails = np.array(
            [f"{a.lower()}.{b.lower()}.{i}@example.com" for i, (a, b) in enumerate(zip(first, last, strict=True))],
            dtype=object,
        )

        # Suppliers own brands; products belong to a category and a brand.
        self.supplier_ids = _ids("SUP", n_suppliers, 3)
        self.supplier_names = np.array(
            [f"{BRAND_WORDS[i % len(BRAND_WORDS)]} {BRAND_SUFFIX[i % len(BRAND_SUFFIX)]}" for i in range(n_suppliers)],
            dtype=object,
        )
        brand_words = np.array(BRAND_WORDS, dtype=object)
        self.brand_names = np.array(
            [f"{brand_words[(i * 7) % len(brand_words)]}{'' if i < 30 else ' Pro'}" for i in range(n_brands)],
            dtype=object,
        )
        self.brand_supplier = rng.integers(0, n_suppliers, n_brands)

        n_cat = len(CATEGORIES)
        self.category_names = np.array([c for c, _, _ in CATEGORIES], dtype=object)
        cat_margin = np.array([m for _, m, _ in CATEGORIES])
        cat_cycle = np.array([d for _, _, d in CATEGORIES])
        # Category sizes vary; every category has at least two products. Products sorted by category.
        sizes = 2 + rng.multinomial(n_products - 2 * n_cat, rng.dirichlet(np.full(n_cat, 2.0)))
        self.product_category = np.repeat(np.arange(n_cat), sizes)
        self.cat_start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        self.cat_size = sizes
        self.cat_popularity = rng.dirichlet(np.full(n_cat, 1.5))
        self.product_ids = _ids("SKU", n_products, 6)
        self.product_brand = rng.integers(0, n_brands, n_products)
        self.product_price = np.round(rng.lognormal(3.2, 1.1, n_products), 2) + 0.5
        self.product_is_stock = rng.random(n_products) < 0.85
        # Issue 17: each category's second most popular product is a special-order (non-stock) item, so
        # core customers buy some non-stock items repeatedly (no draw: the random streams are unchanged).
        self.product_is_stock[self.cat_start + 1] = False
        self.product_cycle = np.where(cat_cycle[self.product_category] > 0, cat_cycle[self.product_category], 0)
        self.product_margin = np.clip(cat_margin[self.product_category] + rng.normal(0, 0.04, n_products), 0.04, 0.6)

        # Partners: resellers and installers that take part in sales, plus logistics and service firms.
        self.partner_ids = _ids("P", n_partners, 4)
        kinds = np.array(["reseller", "installer", "dealer", "logistics", "service"], dtype=object)
        self.partner_kind = kinds[_choice_rows(rng, np.tile(np.cumsum([0.4, 0.35, 0.1, 0.08, 0.07]), (n_partners, 1)))]
        self.partner_region = self.branch_regions[rng.integers(0, n_branches, n_partners)]
        self.partner_names = (
            _pick(rng, NAME_A, n_partners)
            + " "
            + _pick(rng, NAME_B, n_partners)
            + " "
            + np.where(
                self.partner_kind == "installer",
                "Installers",
                np.where(self.partner_kind == "reseller", "Resale", "Inc"),
            )
        )
        sale_partners = np.flatnonzero(np.isin(self.partner_kind, ["reseller", "installer", "dealer"]))

        # Customers. Spend weight: Pareto, capped so no single account dominates a small tenant.
        weight = rng.pareto(1.05, n) + 1.0
        weight = np.minimum(weight, weight.sum() * 0.06)
        rank = np.empty(n, dtype=np.int64)
        rank[np.argsort(-weight, kind="stable")] = np.arange(n)
        pct = rank / max(n - 1, 1)  # 0 = largest account
        u = rng.random(n)
        arch = np.full(n, ORDINARY)
        top = pct < 0.12
        arch[top & (u < 0.35)] = DRAIN
        arch[top & (u >= 0.35)] = CORE
        arch[(pct >= 0.12) & (pct < 0.30) & (u < 0.45)] = CORE
        arch[(pct >= 0.12) & (pct < 0.30) & (u >= 0.90)] = DRAIN
        tail = pct >= 0.45
        arch[tail & (u < 0.22)] = OPPORTUNISTIC
        arch[tail & (u >= 0.22) & (u < 0.40)] = MARGINAL

        v = rng.random(n)
        trend = np.full(n, STABLE)
        trend[v < 0.22] = GROWING
        trend[(v >= 0.22) & (v < 0.42)] = DECLINING
        trend[(v >= 0.42) & (v < 0.52)] = NEW
        # Lapsed accounts come from the middle and the tail (a lapsed top account would be news).
        trend[(v >= 0.52) & (v < 0.66) & (pct > 0.15)] = LAPSED
        # Active window within the history, as fractions of it.
        start = np.zeros(n)
        stop = np.ones(n)
        start[trend == NEW] = rng.uniform(0.35, 0.8, (trend == NEW).sum())
        stop[trend == LAPSED] = rng.uniform(0.2, 0.6, (trend == LAPSED).sum())

        lpi = ARCH["lines_per_invoice"][arch] * rng.uniform(0.8, 1.25, n)
        qty = ARCH["quantity"][arch] * rng.uniform(0.7, 1.4, n)
        discount = np.clip(ARCH["discount"][arch] + rng.normal(0, 0.02, n), 0, 0.4)
        # Invoices are drawn in proportion to spend / expected invoice value, so spend keeps its Pareto shape.
        invoice_rate = weight / (lpi * qty * (1 - discount))
        self.invoice_p = invoice_rate / invoice_rate.sum()
        self.mean_lpi = float((self.invoice_p * lpi).sum())

        self.customer_ids = _ids("C", n, 5)
        self.customer_names = _pick(rng, NAME_A, n) + " " + _pick(rng, NAME_B, n) + " " + _pick(rng, NAME_C, n)
        self.customer_branch = rng.integers(0, n_branches, n)
        # A rep of the customer's branch; about 3% are house accounts with no rep.
        reps_in_branch = (n_reps - self.customer_branch + n_branches - 1) // n_branches
        self.customer_rep = self.customer_branch + n_branches * (rng.random(n) * reps_in_branch).astype(np.int64)
        self.customer_rep[rng.random(n) < 0.03] = -1
        cls = _choice_rows(rng, np.tile(np.cumsum(CLASS_P), (n, 1)))
        cls[(arch == OPPORTUNISTIC) & (rng.random(n) < 0.3)] = 4  # occasional end users
        self.customer_class = cls
        self.customer_arch = arch
        self.customer_trend = trend
        self.customer_start = start
        self.customer_stop = stop
        self.customer_lpi = lpi
        self.customer_qty = qty
        self.customer_discount = discount
        self.customer_margin = ARCH["margin"][arch] + rng.normal(0, 0.02, n)
        self.customer_returns = ARCH["returns"][arch] * rng.uniform(0.5, 1.5, n)
        self.customer_special = ARCH["special"][arch] * rng.uniform(0.5, 1.5, n)
        self.customer_dtp = ARCH["days_to_pay"][arch] * rng.uniform(0.75, 1.3, n)
        # Service drains keep their deliveries (what makes them drains), except OEMs: freight.
        ship_mix = np.where(
            ((arch == DRAIN) & (cls != 1))[:, None],
            ARCH["ship"][arch],
            (1 - CLASS_SHIP_WEIGHT) * ARCH["ship"][arch] + CLASS_SHIP_WEIGHT * CLASS_SHIP[cls],
        )
        self.customer_ship_cum = np.cumsum(ship_mix, axis=1)
        self.customer_fav = rng.choice(n_cat, size=(n, 3), p=self.cat_popularity)
        # Some accounts buy through (or with) a reseller or installer; large accounts often on EDI.
        has_partner = (rng.random(n) < 0.18) | (CLASS_ROLE[cls] == "installer")
        self.customer_partner = np.where(has_partner, sale_partners[rng.integers(0, len(sale_partners), n)], -1)
        self.customer_edi = (arch == CORE) & (pct < 0.05) & (rng.random(n) < 0.5)
        # Drawn apart (their own stream), so the rest of the world stays what it was: most end users
        # buy through an installer; OEMs order by EDI; freight often goes with the logistics partner.
        extra = np.random.default_rng([self.seed, 3])
        installers = np.flatnonzero(self.partner_kind == "installer")
        end_user = (cls == 4) & (extra.random(n) < 0.7)
        if len(installers):
            self.customer_partner[end_user] = installers[extra.integers(0, len(installers), int(end_user.sum()))]
        self.customer_edi |= cls == 1
        logistics = np.flatnonzero(self.partner_kind == "logistics")
        self.logistics_partner = int(logistics[0]) if len(logistics) else -1
        if self.logistics_partner >= 0:
            self.partner_names[self.logistics_partner] = "Swift Freight Logistics"
        self.customer_parent = np.where((pct > 0.1) & (rng.random(n) < 0.04), rng.integers(0, max(1, n // 20), n), -1)
        self.customer_parent[self.customer_parent == np.arange(n)] = -1

        # Expected annual spend (for potential_annual_spend) from the drawing model above.
        mean_price = float(self.product_price.mean())
        expected_revenue = self.invoice_p * (self.n_lines / self.mean_lpi) * lpi * qty * mean_price * (1 - discount)
        active_years = np.maximum((stop - start) * HISTORY_DAYS / 365, 0.25)
        share = np.clip(rng.beta(2.0, 2.5, n), 0.05, 0.95)
        share[arch == OPPORTUNISTIC] *= 0.4  # they mostly buy elsewhere
        self.customer_potential = np.round(expected_revenue / active_years / share, -2) + 1000
        self.customer_credit_terms = np.array([15, 30, 30, 45, 60])[rng.integers(0, 5, n)]
        self.customer_credit_terms[arch == DRAIN] = 60
        self.customer_reasons = np.where(
            rng.random(n) < 0.8,
            REASONS[rng.integers(0, len(REASONS), n)] + ";" + REASONS[rng.integers(0, len(REASONS), n)],
            "",
        )
        self._plan_alert_stories()

    def _plan_alert_stories(self) -> None:
        """The alert stories a visitor sees at once (issue 15; docs INSIGHTS.md), planted among the big
        steady core accounts: some go quiet lately (overdue, slipping), some move their main category
        elsewhere while their total holds (category leakage), and core accounts buy less of one brand in
        the last quarter (a brand slowing among core). Replenishment due comes from the product cycles."""
        steady = (self.customer_arch == CORE) & (self.customer_trend == STABLE) & (self.customer_rep >= 0)
        big_first = np.argsort(-self.invoice_p, kind="stable")
        steady = big_first[steady[big_first]]
        self.story_quiet = steady[1:12:4]  # three accounts with no order in the last 84 days
        self.story_leak = steady[2:20:4][:4]  # four accounts that stop buying their main category
        top_category = int(np.argmax(self.cat_popularity))
        self.story_brand = int(self.product_brand[self.cat_start[top_category]])  # the best seller's brand

    # ---------------------------------------------------------------------------------------------
    # Reference frames.
    def reps_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "rep_id": self.rep_ids,
                "name": self.rep_names,
                "email": self.rep_emails,
                "branch": self.branch_names[self.rep_branch],
            }
        )

    def customers_frame(self) -> pd.DataFrame:
        rep = self.customer_rep
        parent = self.customer_parent
        preferred = SHIP_METHODS[np.argmax(np.diff(self.customer_ship_cum, prepend=0, axis=1), axis=1)]
        return pd.DataFrame(
            {
                "customer_id": self.customer_ids,
                "name": self.customer_names,
                "customer_class": CLASSES[self.customer_class],
                "supply_chain_role": CLASS_ROLE[self.customer_class],
                "industry": INDUSTRIES[(np.arange(self.n_customers) * 7 + self.customer_class) % len(INDUSTRIES)],
                "branch": self.branch_names[self.customer_branch],
                "region": self.branch_regions[self.customer_branch],
                "rep_id": np.where(rep >= 0, self.rep_ids[np.maximum(rep, 0)], ""),
                "preferred_ship_method": preferred,
                "potential_annual_spend": self.customer_potential,
                "reasons_for_purchase": self.customer_reasons,
                "credit_terms_days": self.customer_credit_terms,
                "parent_customer_id": np.where(parent >= 0, self.customer_ids[np.maximum(parent, 0)], ""),
            }
        )

    def products_frame(self) -> pd.DataFrame:
        cat = self.product_category
        brand = self.brand_names[self.product_brand]
        model = pd.Series(np.arange(len(cat))).mul(37).mod(9000).add(1000).astype(str).to_numpy(dtype=object)
        return pd.DataFrame(
            {
                "product_id": self.product_ids,
                "name": brand + " " + self.category_names[cat] + " " + model,
                "category": self.category_names[cat],
                "brand": brand,
                "supplier_id": self.supplier_ids[self.brand_supplier[self.product_brand]],
                "is_stock": self.product_is_stock,
                "replacement_cycle_days": pd.array(np.where(self.product_cycle > 0, self.product_cycle, 0)).astype(
                    "Int64"
                ),
            }
        ).assign(replacement_cycle_days=lambda f: f["replacement_cycle_days"].where(self.product_cycle > 0))

    def inventory_frame(self) -> pd.DataFrame:
        """Issue 17: stock per product and branch. Each category's five most popular stock products are
        stocked at every branch, the first two of them scarce (0-2 on hand, nothing on order: below any
        lead-time demand); every other stock product has one row for the whole distributor (no branch)
        with plenty on hand. Its own random stream: the other frames do not change."""
        rng = np.random.default_rng([self.seed, 17])
        stock = np.flatnonzero(self.product_is_stock)
        rank = np.arange(len(self.product_category)) - self.cat_start[self.product_category]
        top = stock[rank[stock] < 5]
        rest = stock[rank[stock] >= 5]
        n_b = len(self.branch_names)
        top_rows = np.repeat(top, n_b)
        scarce = rank[top_rows] < 2
        products = np.concatenate([top_rows, rest])
        on_hand = np.concatenate(
            [np.where(scarce, rng.integers(0, 3, len(top_rows)), rng.integers(400, 4000, len(top_rows))),
             rng.integers(200, 2000, len(rest))]
        )  # fmt: skip
        return pd.DataFrame(
            {
                "product_id": self.product_ids[products],
                "branch": np.concatenate([np.tile(self.branch_names, len(top)), np.full(len(rest), "", dtype=object)]),
                "on_hand": on_hand,
                "on_order": np.where(
                    np.concatenate([scarce, np.zeros(len(rest), bool)]), 0, rng.integers(0, 100, len(products))
                ),
                "lead_time_days": rng.choice(np.array([7, 14, 21, 30, 45]), len(products)),
                "as_of": np.full(len(products), np.datetime64(self.end_date, "D")),
            }
        )

    def partners_frame(self) -> pd.DataFrame:
        support = {
            "reseller": (
                "Small contractors and end users in towns without a branch.",
                "Resells our catalogue from its own shelf, with local credit and delivery.",
                "Stock close by, an account they already have, someone who knows them.",
            ),
            "installer": (
                "Facility owners and end users who buy an installed result, not parts.",
                "Specifies, buys from us, installs and commissions the equipment, and services it.",
                "One party answers for parts and labour; the end user never has to choose a SKU.",
            ),
            "dealer": (
                "OEMs and plants standardised on a brand.",
                "Sells and services branded equipment; stocks the brand's spare parts.",
                "Brand expertise and warranty handling.",
            ),
            "logistics": (
                "OEMs and large accounts that receive freight.",
                "Carries our freight: full and part truckloads, scheduled plant deliveries, cross-docking.",
                "On-time scheduled deliveries at a freight rate a branch truck cannot match.",
            ),
            "service": (
                "Institutions (schools, hospitals, public buildings).",
                "Maintenance contracts: planned upkeep with parts bought from us.",
                "Uptime without a maintenance team of their own.",
            ),
        }
        kind = self.partner_kind
        sup = pd.DataFrame(
            {
                "partner_id": self.supplier_ids,
                "name": self.supplier_names,
                "kind": "supplier",
                "region": "National",
                "supports_customer": "Every customer class, through our branches.",
                "services": "Manufactures the brands we stock; ships to our branches; technical and warranty support.",
                "why_customers_use_it": "Brand preference, specifications that name the brand, warranty.",
            }
        )
        sales = pd.DataFrame(
            {
                "partner_id": self.partner_ids,
                "name": self.partner_names,
                "kind": kind,
                "region": self.partner_region,
                "supports_customer": [support[k][0] for k in kind],
                "services": [support[k][1] for k in kind],
                "why_customers_use_it": [support[k][2] for k in kind],
            }
        )
        return pd.concat([sup, sales], ignore_index=True)

    def interactions_frame(self) -> pd.DataFrame:
        """Calls, visits, quotes, complaints... more for large and service-heavy accounts."""
        rng = np.random.default_rng([self.seed, 1])
        n = self.n_customers
        years = (self.customer_stop - self.customer_start) * 3
        size = np.sqrt(self.invoice_p * n)  # 1 = average account
        expected = ARCH["interactions"][self.customer_arch] * years * np.clip(size, 0.2, 4)
        cap = max(self.n_lines // 6, n)
        expected *= min(1.0, cap / max(expected.sum(), 1))
        per_customer = rng.poisson(expected)
        cust = np.repeat(np.arange(n), per_customer)
        m = len(cust)
        t = self.customer_start[cust] + (self.customer_stop[cust] - self.customer_start[cust]) * rng.random(m)
        kinds = np.array(["call", "visit", "email", "quote", "web", "service", "complaint", "delivery"], dtype=object)
        normal = np.cumsum([0.28, 0.14, 0.22, 0.18, 0.08, 0.04, 0.02, 0.04])
        drain = np.cumsum([0.18, 0.08, 0.14, 0.10, 0.02, 0.18, 0.12, 0.18])
        cum = np.where((self.customer_arch[cust] == DRAIN)[:, None], drain, normal)
        kind = kinds[_choice_rows(rng, cum)]
        category = self.category_names[self.customer_fav[cust, 0]]
        summary_by_kind = {
            "call": "Called about ",
            "visit": "Site visit, reviewed ",
            "email": "E-mail question on ",
            "quote": "Quoted ",
            "web": "Web inquiry for ",
            "service": "Service request on ",
            "complaint": "Complaint: late or short shipment of ",
            "delivery": "Expedited delivery of ",
        }
        prefix = pd.Series(kind).map(summary_by_kind).to_numpy(dtype=object)
        ref = pd.Series(np.arange(1, m + 1)).astype(str).str.zfill(7).to_numpy(dtype=object)
        rep = self.customer_rep[cust]
        channel = pd.Series(kind).map(
            {
                "call": "phone",
                "visit": "in person",
                "email": "email",
                "quote": "email",
                "web": "web",
                "service": "phone",
                "complaint": "phone",
                "delivery": "driver",
            }  # fmt: skip
        )
        return pd.DataFrame(
            {
                "customer_id": self.customer_ids[cust],
                "date": self._dates(t),
                "kind": kind,
                "rep_id": np.where(rep >= 0, self.rep_ids[np.maximum(rep, 0)], ""),
                "channel": channel.to_numpy(dtype=object),
                "summary": prefix + category + " (ref I" + ref + ")",
                "usage_notes": np.where(
                    rng.random(m) < 0.15, "Uses " + category + " on " + INDUSTRIES[cust % len(INDUSTRIES)] + " jobs", ""
                ),
                "opportunity": np.isin(kind, ["quote", "visit"]) & (rng.random(m) < 0.35),
            }
        )

    # ---------------------------------------------------------------------------------------------
    # Invoice lines.
    def _dates(self, t: np.ndarray) -> np.ndarray:
        """Fractions of the history -> business dates (weekends move to the nearest weekday)."""
        days = np.minimum((t * HISTORY_DAYS).astype(np.int64), HISTORY_DAYS - 1)
        d = self._start64 + days
        dow = (d.astype(np.int64) + 3) % 7  # 0 = Monday (1970-01-01 was a Thursday)
        d = d - np.where(dow == 5, 1, 0) + np.where(dow == 6, 1, 0)
        end = np.datetime64(self.end_date, "D")
        return np.minimum(np.maximum(d, self._start64), end)

    def _trend_time(self, rng: np.random.Generator, cust: np.ndarray) -> np.ndarray:
        """When in its active window each invoice falls: uniform, or skewed late (growing) or early
        (declining), as fractions of the whole history."""
        m = len(cust)
        u = rng.random(m)
        trend = self.customer_trend[cust]
        skew = rng.random(m) < 0.6
        x = np.where(skew & (trend == GROWING), np.sqrt(u), u)
        x = np.where(skew & (trend == DECLINING), 1 - np.sqrt(1 - u), x)
        start, stop = self.customer_start[cust], self.customer_stop[cust]
        return start + (stop - start) * x

    def _draw_invoices(self, rng: np.random.Generator, n_lines: int) -> tuple[np.ndarray, np.ndarray]:
        """Customers and line counts of invoices totalling exactly n_lines lines."""
        custs, sizes, total = [], [], 0
        while total < n_lines:
            k = int((n_lines - total) / self.mean_lpi * 1.05) + 16
            c = rng.choice(self.n_customers, size=k, p=self.invoice_p)
            s = 1 + rng.poisson(self.customer_lpi[c] - 1)
            custs.append(c)
            sizes.append(s)
            total += int(s.sum())
        cust, size = np.concatenate(custs), np.concatenate(sizes)
        cum = np.cumsum(size)
        keep = int(np.searchsorted(cum, n_lines)) + 1
        cust, size = cust[:keep], size[:keep].copy()
        size[-1] -= int(cum[keep - 1] - n_lines)
        return cust, size

    def line_chunks(self, *, descriptions: bool = False) -> Iterator[pd.DataFrame]:
        """Invoice lines, `chunk_size` at a time. With `descriptions`, also customer_name, category and
        brand (a lines-only export from which unknown customers and products can be created)."""
        invoice_no = 0
        for k, lo in enumerate(range(0, self.n_lines, self.chunk_size)):
            n = min(self.chunk_size, self.n_lines - lo)
            rng = np.random.default_rng([self.seed, 1000 + k])
            frame, used = self._chunk(rng, n, invoice_no, descriptions)
            invoice_no += used
            yield frame

    def _chunk(self, rng: np.random.Generator, n: int, invoice_no: int, descriptions: bool):
        inv_cust, inv_size = self._draw_invoices(rng, n)
        n_inv = len(inv_cust)
        # Per invoice: date, ship method, branch, credit memo or not, partner, channel, days to pay.
        inv_t = self._trend_time(rng, inv_cust)
        inv_date = self._dates(inv_t)
        ship = _choice_rows(rng, self.customer_ship_cum[inv_cust])
        inv_branch = np.where(
            rng.random(n_inv) < 0.92, self.customer_branch[inv_cust], rng.integers(0, len(self.branch_names), n_inv)
        )
        credit = rng.random(n_inv) < self.customer_returns[inv_cust]
        partner = self.customer_partner[inv_cust]
        # End users buy through their installer most of the time; others now and then.
        through = np.where(self.customer_class[inv_cust] == 4, 0.85, 0.55)
        partner = np.where((partner >= 0) & (rng.random(n_inv) < through), partner, -1)
        channel = CLASS_CHANNEL[self.customer_class[inv_cust]].copy()
        channel[SHIP_METHODS[ship] == "will_call"] = "counter"
        channel[SHIP_METHODS[ship] == "web"] = "web"
        channel[self.customer_edi[inv_cust] & (rng.random(n_inv) < 0.7)] = "edi"
        rng.random(n_inv)  # (a draw kept so the rest of the lines stay as they were)
        # A sale through a partner was ordered through it: its channel is the partner's kind.
        via_partner = partner >= 0
        channel[via_partner] = self.partner_kind[partner[via_partner]]
        # Freight without a sales partner: often carried by the logistics partner (its own stream).
        if self.logistics_partner >= 0:
            carried = np.random.default_rng([self.seed, 4, invoice_no]).random(n_inv) < 0.6
            carried &= (SHIP_METHODS[ship] == "freight") & (partner < 0)
            partner = np.where(carried, self.logistics_partner, partner)
        dtp = np.maximum(np.round(self.customer_dtp[inv_cust] + rng.normal(0, 8, n_inv)), 0)
        unpaid = inv_date + dtp.astype("timedelta64[D]") > np.datetime64(self.end_date, "D")
        inv_ids = (
            pd.Series(np.where(credit, "CM", "IN"), dtype=object)
            + pd.Series(np.arange(invoice_no + 1, invoice_no + n_inv + 1)).astype(str).str.zfill(9).astype(object)
        ).to_numpy(dtype=object)

        # Expand to lines.
        inv = np.repeat(np.arange(n_inv), inv_size)
        starts = np.cumsum(inv_size) - inv_size
        line_no = np.arange(n) - np.repeat(starts, inv_size) + 1
        cust = inv_cust[inv]
        # Product: mostly from the customer's favourite categories, popular items first.
        fav = self.customer_fav[cust, rng.integers(0, 3, n)]
        any_cat = rng.choice(len(self.cat_size), size=n, p=self.cat_popularity)
        cat = np.where(rng.random(n) < 0.7, fav, any_cat)
        product = self.cat_start[cat] + (self.cat_size[cat] * rng.random(n) ** 2.5).astype(np.int64)
        qty = np.ceil(rng.exponential(self.customer_qty[cust])).astype(np.int64)
        special = rng.random(n) < self.customer_special[cust]
        sign = np.where(credit[inv], -1, 1)
        qty = qty * sign
        revenue = np.round(qty * self.product_price[product] * (1 - self.customer_discount[cust]), 2)
        margin = self.product_margin[product] + self.customer_margin[cust] + rng.normal(0, 0.03, n)
        margin = np.clip(margin - np.where(special, 0.03, 0), -0.15, 0.7)
        cost = np.round(revenue * (1 - margin), 2)
        # Its own generator, so the other draws (and every existing figure of the demo) stay as they were.
        story_rng = np.random.default_rng([self.seed, 5000, invoice_no])
        inv_date, product = self._plant_alert_stories(story_rng, inv_cust, inv, inv_date, cust, product)
        rep = self.customer_rep[cust]
        ship_line = SHIP_METHODS[ship[inv]]
        ship_line = np.where(special & (rng.random(n) < 0.4), "drop_ship", ship_line)
        frame = {
            "invoice_id": inv_ids[inv],
            "line_no": line_no,
            "invoice_date": inv_date[inv],
            "customer_id": self.customer_ids[cust],
            "product_id": self.product_ids[product],
            "quantity": qty,
            "revenue": revenue,
            "cost": cost,
            "ship_method": ship_line,
            "branch": self.branch_names[inv_branch[inv]],
            "rep_id": np.where(rep >= 0, self.rep_ids[np.maximum(rep, 0)], ""),
            "channel": channel[inv],
            "partner_id": np.where(partner[inv] >= 0, self.partner_ids[np.maximum(partner[inv], 0)], ""),
            "special_order": special,
            "days_to_pay": pd.array(dtp[inv].astype(np.int64), dtype="Int64"),
        }
        df = pd.DataFrame(frame)
        df.loc[unpaid[inv], "days_to_pay"] = pd.NA
        if descriptions:
            df["customer_name"] = self.customer_names[cust]
            df["category"] = self.category_names[self.product_category[product]]
            df["brand"] = self.brand_names[self.product_brand[product]]
        return df, n_inv

    def _plant_alert_stories(self, rng, inv_cust, inv, inv_date, cust, product):
        """Move the planted stories into the lines, keeping every line's revenue and cost (so totals
        hold): quiet accounts' invoices of the last 84 days move 84-161 days back (whole weeks); leaking accounts'
        lines of their main category in the last year move to their second category; core accounts'
        lines of the slowing brand in the last 90 days move to a neighbouring product of another brand."""
        if not len(inv_cust):
            return inv_date, product
        end = np.datetime64(self.end_date, "D")
        inv_age = (end - inv_date).astype(np.int64)
        quiet = np.isin(inv_cust, self.story_quiet) & (inv_age < 84)
        # Whole weeks back (dates stay weekdays): 84 to 161 days.
        back = (84 + 7 * rng.integers(0, 12, len(inv_cust))).astype("timedelta64[D]")
        inv_date = np.where(quiet, inv_date - back, inv_date)
        age = (end - inv_date[inv]).astype(np.int64)
        category = self.product_category[product]
        leak = np.isin(cust, self.story_leak) & (age < 365) & (category == self.customer_fav[cust, 0])
        second = self.customer_fav[cust, 1]
        second = np.where(second == category, (category + 1) % len(self.cat_size), second)
        product = np.where(
            leak, self.cat_start[second] + (product - self.cat_start[category]) % self.cat_size[second], product
        )
        category = self.product_category[product]
        slow = (self.customer_arch[cust] == CORE) & (age < 90) & (self.product_brand[product] == self.story_brand)
        slow &= rng.random(len(cust)) < 0.7
        for step in (1, 2, 3):  # the next product of the category whose brand differs
            moved = self.cat_start[category] + (product - self.cat_start[category] + step) % self.cat_size[category]
            take = slow & (self.product_brand[moved] != self.story_brand)
            product = np.where(take, moved, product)
            slow &= ~take
        return inv_date, product

    # ---------------------------------------------------------------------------------------------
    def write_lines_csv(self, path: str | Path, *, descriptions: bool = True) -> int:
        """Write every line as one CSV with the canonical header (chunk by chunk); returns the count."""
        total = 0
        with open(path, "w", newline="", encoding="utf-8") as fh:
            for i, chunk in enumerate(self.line_chunks(descriptions=descriptions)):
                # Pre-formatting dates and money as text is ~2x faster than letting to_csv format them.
                days, where = np.unique(chunk["invoice_date"].to_numpy(), return_inverse=True)
                chunk["invoice_date"] = np.datetime_as_string(days, unit="D").astype(object)[where]
                for money in ("revenue", "cost"):
                    chunk[money] = [f"{v:.2f}" for v in chunk[money].to_numpy().tolist()]
                chunk["special_order"] = np.where(chunk["special_order"].to_numpy(), "true", "false")
                chunk.to_csv(fh, index=False, header=i == 0, quoting=csv.QUOTE_MINIMAL)
                total += len(chunk)
        return total


def archetype_names(demo: DemoDistributor) -> np.ndarray:
    """Archetype of every customer, in customer order (for tests and demos)."""
    return np.array(ARCHETYPES, dtype=object)[demo.customer_arch]


def trend_names(demo: DemoDistributor) -> np.ndarray:
    return np.array(TRENDS, dtype=object)[demo.customer_trend]


# -------------------------------------------------------------------------------------------------
# Loading into a tenant through the import's fast write path.
def load_demo(*, distributor, demo: DemoDistributor, log=None) -> dict:
    """Write the demo distributor into `distributor` with `imports.services.load_frame` (the same
    validated, set-based upsert as file imports): reps, partners, products, customers, the invoice
    lines chunk by chunk, then interactions. Idempotent: the same demo loaded twice changes nothing.
    Returns the load summaries by kind."""
    from django.db import connection
    from django_scopes import scope

    from imports.services import load_frame
    from sales.models import Rep
    from stratify.db import is_postgres

    log = log or (lambda message: None)
    summary: dict[str, dict] = {}

    def add(kind: str, result) -> None:
        """Sum the per-call summaries: rows, and created/updated/unchanged of the kind itself."""
        total = summary.setdefault(kind, {})
        result = result or {}
        total["rows"] = total.get("rows", 0) + int(result.get("rows", 0))
        for what in ("created", "updated", "unchanged"):
            total[what] = total.get(what, 0) + int((result.get(what) or {}).get(kind, 0))

    with scope(distributor=distributor):
        # There is no reps file: reps come from the books of business, with their name and branch.
        reps = demo.reps_frame()
        Rep.objects.bulk_create(
            [Rep(distributor=distributor, **row) for row in reps.to_dict("records")],
            update_conflicts=True,
            unique_fields=["distributor", "rep_id"],
            update_fields=["name", "email", "branch"],
        )
        summary["reps"] = {"rows": len(reps)}
        for kind, frame in (
            ("partners", demo.partners_frame()),
            ("products", demo.products_frame()),
            ("customers", demo.customers_frame()),
        ):
            result = load_frame(distributor=distributor, kind=kind, frame=frame)
            add(kind, result)
            log(f"{kind}: {len(frame):,} rows in {result.get('seconds', 0):.1f} s")
        if is_postgres():
            # Fresh statistics for the rows just written (autovacuum has not seen them yet): without
            # them the planner takes the tenant's customers and products for a handful of rows and
            # joins the lines to them with nested loops.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE sales_rep, sales_customer, sales_product, stratify_channels_partner")
        done = 0
        for chunk in demo.line_chunks():
            result = load_frame(distributor=distributor, kind="invoice_lines", frame=chunk)
            add("invoice_lines", result)
            done += len(chunk)
            log(f"invoice_lines: {done:,} / {demo.n_lines:,} ({result.get('seconds', 0):.1f} s)")
        interactions = demo.interactions_frame()
        result = load_frame(distributor=distributor, kind="interactions", frame=interactions)
        add("interactions", result)
        log(f"interactions: {len(interactions):,} rows in {result.get('seconds', 0):.1f} s")
        inventory = demo.inventory_frame()  # issue 17: stock per product and branch
        add("inventory", load_frame(distributor=distributor, kind="inventory", frame=inventory))
        log(f"inventory: {len(inventory):,} rows")
    return summary

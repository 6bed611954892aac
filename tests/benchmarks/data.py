"""Hand-made books for the benchmark tests: customers spread over three reps (the third with none),
with segments, previous segments, money and categories chosen so every figure has a known answer."""

from decimal import Decimal

from django_scopes import scopes_disabled

from tests import factories as f
from tests.pages.conftest import make_run

# account -> (rep key, segment, previous segment, revenue, gross margin, cost to serve, net profit,
#             categories, class, region)
BOOK = {
    "K1": ("r1", "core", "core", 10000.25, 3000.5, 500.1, 2500.4, 6, "contractor", "East"),
    "K2": ("r1", "core", "opportunistic", 8000.0, 2400.0, 400.0, 2000.0, 3, "contractor", "East"),
    "K3": ("r1", "marginal", "core", 1000.0, 100.0, 300.0, -200.0, 1, "retail", "West"),
    "K4": ("r1", "lapsed", "marginal", None, None, None, None, None, "retail", "West"),
    "K5": ("r1", "service_drain", "", 5000.0, 800.0, 1200.5, -400.5, 4, "oem", ""),
    "K6": ("r2", "core", "core", 20000.0, 6000.0, 1000.0, 5000.0, 8, "contractor", "East"),
    "K7": ("r2", "opportunistic", "marginal", 3000.0, 1200.0, 200.0, 1000.0, 2, "oem", "West"),
    "K8": ("r2", "core", "core", 12000.0, 3000.0, 1000.0, 2000.0, 5, "retail", "East"),
    "K9": ("r2", "marginal", "marginal", 500.33, 50.0, 80.0, -30.0, 1, "retail", ""),
    "K10": (None, "core", "core", 7000.0, 2000.0, 300.0, 1700.0, 7, "contractor", "North"),
}
FIELDS = ("segment", "previous_segment", "revenue", "gross_margin", "cost_to_serve", "net_profit", "categories")


def build(t, book=BOOK, settings=None):
    """Customers of `book` in tenant t (rep keys: r1 = t.rep, r2 = t.other_rep, r3 = a third rep
    with no customer), and a published run scoring them. The tenant's own fixture customers (C1, C2)
    are left out of the run. Returns (run, {account: customer}, reps)."""
    with scopes_disabled():
        r3 = f.RepFactory(distributor=t.distributor, rep_id=f"{t.slug}-R3", name="Empty Rep")
        reps = {"r1": t.rep, "r2": t.other_rep, "r3": r3, None: None}
        customers = {}
        for account, (rep, *_rest, klass, region) in book.items():
            customers[account] = f.CustomerFactory(
                distributor=t.distributor,
                customer_id=f"{t.slug}-{account}",
                rep=reps[rep],
                customer_class=klass,
                region=region,
                branch="North" if account in ("K1", "K2", "K6") else "South",
            )
    rows = {customers[a]: dict(zip(FIELDS, values[1:8], strict=True)) for a, values in book.items()}
    run = make_run(t.distributor, rows, settings=settings)
    return run, customers, reps


def money(value) -> Decimal:
    return Decimal(0) if value is None else Decimal(repr(float(value)))


SHORT = {"window_days": 180, "value_top_share": 0.3, "profit_top_share": 0.3}
PRODUCTS = [  # (sku, category, brand, supplier)
    ("S1", "Pipe", "Acme", "SUP1"),
    ("S2", "Pipe", "Bolt", "SUP2"),
    ("S3", "Valves", "Acme", "SUP1"),
    ("S4", "Safety", "", "SUP3"),
    ("S5", "", "Bolt", ""),
]


def add_lines(t, customers, *, seed=7, n=160):
    """Random invoice lines of the book's customers between 2024-06 and the run's as-of date
    (returns included). Returns [(account, sku, date, revenue)] to compute against."""
    import random
    from datetime import date, timedelta

    rng = random.Random(seed)
    with scopes_disabled():
        products = {
            sku: f.ProductFactory(
                distributor=t.distributor, product_id=f"{t.slug}-{sku}", category=c, brand=b, supplier_id=s
            )
            for sku, c, b, s in PRODUCTS
        }
        lines = []
        start = date(2024, 6, 1)
        for i in range(n):
            account = rng.choice(sorted(customers))
            sku = rng.choice(sorted(products))
            day = start + timedelta(days=rng.randrange(0, (date(2026, 6, 30) - start).days + 1))
            revenue = Decimal(rng.randrange(-2000, 90000)) / 100
            f.InvoiceLineFactory(
                distributor=t.distributor,
                customer=customers[account],
                product=products[sku],
                invoice_date=day,
                invoice_id=f"{t.slug}-I{i}",
                revenue=revenue,
                cost=revenue * Decimal("0.7"),
            )
            lines.append((account, sku, day, revenue))
    return lines

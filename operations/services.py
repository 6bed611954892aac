"""Writes of the operations pages: saved cut scenarios, the tenant's thresholds, and turning the
consolidation suggestion into a change of the marginal segment's tier policy (audited like any
policy edit, through `segments.services.policies`)."""

from __future__ import annotations

import time

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from sales.models import Product
from sales.summaries import units_sum
from segments.selectors import policy_get
from segments.services.policies import policy_update
from stratify.db import is_postgres

from .models import CoreCustomer, CoreProduct, CutPair, CutScenario, OperationsSettings, RunCutTables
from .selectors import (
    CORE,
    CORE_CUSTOMERS,
    CORE_PRODUCTS,
    CUT_PAIRS,
    LINES,
    PRODUCTS,
    SCORES,
    CutChoice,
    Scope,
    consolidation,
    core_accounts,
    cut_unknown,
    imports_stamp,
    line_sums,
)

SETTING_RANGES: dict[str, tuple[int, int]] = {
    "default_lead_time_days": (0, 365),
    "stock_min_orders": (1, 1000),
    "stock_min_core_customers": (1, 1000),
    "drop_max_lines": (0, 10_000),
    "max_deliveries_per_week": (1, 7),
}
MAX_VALUES_PER_KIND = 100


def check_choice(*, distributor, choice: CutChoice, run=None) -> None:
    """ValidationError naming what is wrong with a cut choice: nothing chosen, too many values, or
    suppliers, brands or products the tenant does not have."""
    if choice.empty:
        raise ValidationError({"choice": "Choose at least one supplier, brand or product to cut."})
    for key, values in choice.as_dict().items():
        if len(values) > MAX_VALUES_PER_KIND:
            raise ValidationError({key: f"At most {MAX_VALUES_PER_KIND} values."})
        if any(len(v) > 255 for v in values):
            raise ValidationError({key: "A value is longer than 255 characters."})
    unknown = cut_unknown(distributor=distributor, choice=choice, run=run)
    if unknown:
        raise ValidationError({key: f"Unknown {key}: {', '.join(values)}." for key, values in unknown.items()})


def scenario_save(*, distributor, actor, name: str, choice: CutChoice) -> CutScenario:
    """Save (or replace, by name) a named cut scenario."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationError({"name": "Give the scenario a name of 1 to 100 characters."})
    check_choice(distributor=distributor, choice=choice)
    try:
        with transaction.atomic():
            scenario, _ = CutScenario.objects.update_or_create(
                distributor=distributor,
                name=name,
                defaults={
                    "suppliers": choice.supplier,
                    "brands": choice.brand,
                    "products": choice.product,
                    "created_by": actor,
                },
            )
    except IntegrityError:  # two saves of the same new name at once: the other one won
        scenario = CutScenario.objects.get(distributor=distributor, name=name)
    return scenario


def scenario_delete(*, scenario: CutScenario) -> None:
    scenario.delete()


def settings_update(*, distributor, data: dict) -> OperationsSettings:
    """Set some thresholds (whole numbers within SETTING_RANGES); ValidationError naming the bad ones."""
    errors, clean = {}, {}
    for key, value in data.items():
        if key not in SETTING_RANGES:
            errors[key] = f"Unknown setting (expected one of: {', '.join(SETTING_RANGES)})."
            continue
        low, high = SETTING_RANGES[key]
        try:
            number = int(str(value).strip())
        except (TypeError, ValueError):
            errors[key] = f"A whole number from {low} to {high}."
            continue
        if not low <= number <= high:
            errors[key] = f"A whole number from {low} to {high}."
            continue
        clean[key] = number
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        row, _ = OperationsSettings.objects.select_for_update().get_or_create(distributor=distributor)
        for key, number in clean.items():
            setattr(row, key, number)
        row.save()
    return row


def consolidation_to_policy(*, distributor, run, actor, currency_text) -> tuple[str, bool]:
    """Write the consolidation suggestion into the marginal segment's tier policy (its playbook, what
    reps follow; audited as a policy change). Returns the sentence and whether the playbook changed
    (not when it already says it: a second click). `currency_text(amount)` formats the saving in the
    tenant's currency."""
    suggestion = consolidation(distributor=distributor, run=run)
    if not suggestion["saved_deliveries"]:
        raise ValidationError({"consolidation": "There is nothing to consolidate in the published run's window."})
    per_week = suggestion["per_week"]
    sentence = (
        f"Deliveries: consolidate to at most {per_week} a week"
        f" (run #{run.number}: saves {suggestion['saved_deliveries']:,} deliveries,"
        f" {currency_text(suggestion['saved_cost'])} at our delivery rates)."
    )
    policy = policy_get(distributor=distributor, segment=suggestion["segment"])
    lines = (policy.playbook or "").splitlines()
    if sentence in lines:
        return sentence, False
    kept = [line for line in lines if not line.startswith("Deliveries: consolidate")]
    policy_update(policy=policy, actor=actor, data={"playbook": "\n".join([*kept, sentence]).strip()})
    return sentence, True


def cut_tables_write(*, distributor, run) -> RunCutTables:
    """Write the run's cut tables (models `CutPair`, `CoreProduct`, `CoreCustomer`, `RunCutTables`) from
    its window's lines, its scores and the accounts: INSERT ... SELECT, two passes over the window's
    lines and one over the run's core scores, in the database (no row comes to Python). Replaces what
    an earlier attempt wrote. The pairs are inserted pair by pair, so a pair's rows sit together in the
    table. Called by the `cut_tables` job after every succeeded run (`operations.jobs`)."""
    clock = time.perf_counter()
    scope = Scope.of(distributor, run)
    stamp = imports_stamp(distributor=distributor)  # before reading: an import landing meanwhile voids it
    owned = {"distributor": distributor, "run": run}
    with transaction.atomic(), connection.cursor() as cursor:
        if is_postgres():
            cursor.execute("SET LOCAL jit = off")
            cursor.execute("SET LOCAL work_mem = '256MB'")
        RunCutTables.objects.filter(**owned).delete()
        CutPair.objects.filter(**owned).delete()
        CoreProduct.objects.filter(**owned).delete()
        CoreCustomer.objects.filter(**owned).delete()
        window = "l.distributor_id = %s AND l.invoice_date >= %s AND l.invoice_date <= %s"
        window_params = [scope.tenant, scope.start, scope.end]
        # Each product's (supplier, brand) pair numbered, so the window's lines are grouped by
        # (pair number, customer), integers, and each customer's score is joined once per sum rather
        # than once per line (grouping the lines by the supplier and brand texts took 3x as long).
        cursor.execute(
            "WITH pp AS (SELECT p.id AS product_id, p.supplier_id, p.brand,"
            f" dense_rank() OVER (ORDER BY p.supplier_id, p.brand) AS pair_no FROM {PRODUCTS} p"
            " WHERE p.distributor_id = %s),"
            f" g AS (SELECT pp.pair_no, l.customer_id, {line_sums()}"
            f" FROM {LINES} l JOIN pp ON pp.product_id = l.product_id WHERE {window}"
            " GROUP BY pp.pair_no, l.customer_id),"
            " pairs AS (SELECT DISTINCT pair_no, supplier_id, brand FROM pp)"
            f" INSERT INTO {CUT_PAIRS} (distributor_id, run_id, customer_id, segment, supplier_id, brand, lines,"
            " special_lines, revenue_units, cost_units)"
            " SELECT %s, %s, g.customer_id, s.segment, pairs.supplier_id, pairs.brand, g.lines, g.special_lines,"
            " g.revenue_units, g.cost_units FROM g JOIN pairs ON pairs.pair_no = g.pair_no"
            f" JOIN {SCORES} s ON s.customer_id = g.customer_id AND s.distributor_id = %s AND s.run_id = %s"
            " ORDER BY g.pair_no, g.customer_id",
            [scope.tenant, *window_params, scope.tenant, scope.run_pk, scope.tenant, scope.run_pk],
        )
        pairs = _inserted(cursor, CutPair, owned)
        # Per (product, core customer) first, then per product: hash aggregates, no count(DISTINCT).
        cursor.execute(
            f"INSERT INTO {CORE_PRODUCTS} (distributor_id, run_id, product_id, core_customers, revenue_units)"
            " SELECT %s, %s, g.product_id, count(*), CAST(sum(g.revenue_units) AS bigint)"
            f" FROM (SELECT l.product_id, l.customer_id, {units_sum('l.revenue')} AS revenue_units FROM {LINES} l"
            f" JOIN {PRODUCTS} p ON p.id = l.product_id AND p.distributor_id = %s AND p.category <> ''"
            f" JOIN {SCORES} s ON s.customer_id = l.customer_id AND s.distributor_id = %s AND s.run_id = %s"
            f" AND s.segment = %s WHERE {window} GROUP BY l.product_id, l.customer_id) g"
            " GROUP BY g.product_id",
            [scope.tenant, scope.run_pk, scope.tenant, scope.tenant, scope.run_pk, CORE, *window_params],
        )
        products = _inserted(cursor, CoreProduct, owned)
        accounts, accounts_params = core_accounts(scope)
        cursor.execute(
            f"INSERT INTO {CORE_CUSTOMERS} (distributor_id, run_id, customer_id, account, name, window_revenue)"
            f" SELECT %s, %s, a.* FROM ({accounts}) a ORDER BY a.customer_id",
            [scope.tenant, scope.run_pk, *accounts_params],
        )
        if is_postgres():
            # Statistics of the new rows (autovacuum would come later): without them the planner takes
            # a run's rows for a handful and reads all of them instead of the chosen pairs' ranges.
            cursor.execute(f"ANALYZE {CUT_PAIRS}, {CORE_CUSTOMERS}, {CORE_PRODUCTS}")
        # Every pair the tenant's products have (a superset of the rows'): a choice of suppliers and
        # brands becomes the pairs it matches, each an index range of `cutpair_pair_idx`.
        products_pairs = Product.objects.filter(distributor=distributor).order_by().values_list("supplier_id", "brand")
        pair_list = sorted(map(list, products_pairs.distinct()))
        return RunCutTables.objects.create(
            **owned,
            imports_stamp=stamp,
            pairs=pairs,
            pair_list=pair_list,
            core_products=products,
            seconds=round(time.perf_counter() - clock, 3),
        )


def _inserted(cursor, model, owned: dict) -> int:
    """The rows the cursor's INSERT wrote (SQLite gives -1 for an INSERT led by WITH: they are counted)."""
    return cursor.rowcount if cursor.rowcount >= 0 else model.objects.filter(**owned).count()

"""The channel map, read side (issue 14): fetches the published run, its window and its customers'
segments (segments.selectors), hands them to `channels.channel_map` (which computes the flows over
whole columns), caches the flows and each drawing per run (insights.caching), adds where each node
leads on a click, and spells the figures for the page and the API."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlencode

from django.urls import reverse

from channels import channel_map as cm
from channels.vocabulary import SHIP_METHOD_LABELS, labelled_shares
from segments.selectors import run_window, score_list
from segments.vocabulary import SEGMENT_LABELS, SEGMENT_ORDER
from stratify.engine import LAPSED, ModelSettings
from stratify.formatting import money_str
from stratify.tenancy.permissions import Role

from .caching import run_cached

MAX_LIMIT = 100
FILTERS = ("branch", "segment", "customer_class")


class BadInput(ValueError):
    """A query parameter outside its allowed values (the message names them)."""


def segments_of(*, distributor, run) -> dict[int, str]:
    """customer pk -> segment of the run's active (not lapsed) customers."""
    return dict(
        score_list(distributor=distributor, run=run)
        .exclude(segment=LAPSED)
        .order_by()
        .values_list("customer_id", "segment")
    )


def flows_for(*, distributor, run) -> cm.Flows:
    """The run's flows, cached per run (computed once; every filter and switch reads them)."""

    def compute():
        window = run_window(run)
        return cm.read_flows(
            distributor=distributor,
            as_of=window.as_of,
            window_days=window.window_days,
            segments=segments_of(distributor=distributor, run=run),
            settings=ModelSettings.from_dict(run.settings or {}),
        )

    return run_cached(distributor, run, "channel-map-flows", compute)


def parse_params(params) -> dict:
    """`by`, `weight`, `limit` and the filters of a request, checked (BadInput naming the allowed values)."""
    by = params.get("by") or "customer_class"
    weight = params.get("weight") or "revenue"
    for name, value, allowed in (("by", by, cm.BY_CHOICES), ("weight", weight, cm.WEIGHT_CHOICES)):
        problem = cm.unknown_choice(name, value, allowed)
        if problem:
            raise BadInput(problem)
    raw = params.get("limit") or str(cm.DEFAULT_LIMIT)
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadInput(f"limit must be a whole number from 1 to {MAX_LIMIT} (nodes kept per column).")
    segment = params.get("segment") or None
    if segment is not None and segment not in SEGMENT_LABELS:
        raise BadInput(f"Unknown segment {segment!r}: use one of {', '.join(SEGMENT_ORDER)}.")
    filters = {name: params.get(name) or None for name in FILTERS}
    for name in ("branch", "customer_class"):
        if filters[name] == cm.NONE:
            filters[name] = ""
    return {"by": by, "weight": weight, "limit": int(raw), "filters": filters}


def channel_map(*, distributor, run, by: str, weight: str, limit: int, filters: dict) -> dict:
    """The map of the published run (cached per run and choice of switches and filters)."""
    # v2: the result carries `below_zero` and `left_out` (flows the drawing cannot draw to scale).
    key = "channel-map:v2:" + urlencode(sorted({"by": by, "weight": weight, "limit": limit, **filters}.items()))

    def compute():
        flows = flows_for(distributor=distributor, run=run)
        if any(v is not None for v in filters.values()):
            flows = cm.filter_flows(flows, **filters)
        result = cm.build_map(flows, by=by, weight=weight, limit=limit)
        window = run_window(run)
        result["window"] = {"start": cm.window_start(window.as_of, window.window_days), "end": window.as_of}
        result["run"] = run.number
        return result

    return run_cached(distributor, run, key, compute)


def filter_choices(*, distributor, run) -> dict:
    """The values the page's filters offer (branches of lines, customer classes, segments), cached per run."""

    def compute():
        frame = flows_for(distributor=distributor, run=run).frame
        shown = lambda values: sorted({v or cm.NONE for v in values})  # noqa: E731
        return {
            "branch": shown(frame["branch"].unique()) if not frame.empty else [],
            "customer_class": shown(frame["customer_class"].unique()) if not frame.empty else [],
            "segment": [(s, SEGMENT_LABELS[s]) for s in SEGMENT_ORDER if s != LAPSED],
        }

    return run_cached(distributor, run, "channel-map-choices", compute)


def node_url(node: dict, *, tenant_slug: str, role: str, by: str) -> str | None:
    """Where a click on a node leads: a partner's page, a branch's profit centers (reps: its
    customers), the customers of a channel, supplier or category (reps see only theirs there). A
    category's definition is linked from the table under the drawing (`definition_url`)."""
    if node.get("other"):
        return None
    customers = reverse("my-customers", kwargs={"tenant": tenant_slug})
    kind, value = node["kind"], node["id"].split(":", 1)[1]
    if node.get("partner_id"):
        return reverse("partner-detail", kwargs={"tenant": tenant_slug, "partner_id": node["partner_id"]})
    if kind == "branch":
        if role == Role.MANAGER:
            return (
                reverse("profit-centers", kwargs={"tenant": tenant_slug})
                + "?"
                + urlencode({"dimension": "branch", "q": "" if value == cm.NONE else value})
            )
        return customers + "?" + urlencode({"dimension": "branch", "value": value})
    if kind == "supplier":
        return customers + "?" + urlencode({"dimension": "supplier", "value": value})
    if kind == "route":
        return customers + "?" + urlencode({"dimension": "channel", "value": node.get("channel") or cm.NONE})
    if kind == "customer_group":
        return customers + "?" + urlencode({"dimension": by, "value": value})
    return None


def definition_url(node: dict, *, tenant_slug: str, by: str) -> str | None:
    if node["kind"] != "customer_group" or node.get("other"):
        return None
    value = node["id"].split(":", 1)[1]
    return reverse("customer-definition", kwargs={"tenant": tenant_slug, "by": by, "value": value})


def _link_body(item: dict) -> dict:
    return {
        "revenue": money_str(item["revenue"]),
        "net_profit": money_str(item["net_profit"]),
        "lines": item["lines"],
        "customers": item["customers"],
        "core_share": item["core_share"],
        "ship_methods": item["ship_methods"],
        "value": item["value"],
        "below_zero": item["below_zero"],
    }


def api_body(result: dict, *, tenant_slug: str, role: str) -> dict:
    """The map as the API answers it: money as decimal strings with 2 decimals."""
    nodes = []
    for node in result["nodes"]:
        body = {
            k: v
            for k, v in node.items()
            if k not in {"revenue", "net_profit", "revenue_units", "value", "lines", "customers"}
        }
        body.update(_link_body(node))
        body["url"] = node_url(node, tenant_slug=tenant_slug, role=role, by=result["by"])
        if node["kind"] == "customer_group":
            body["definition_url"] = definition_url(node, tenant_slug=tenant_slug, by=result["by"])
        nodes.append(body)
    links = [{"source": link["source"], "target": link["target"], **_link_body(link)} for link in result["links"]]
    return {
        "run": result["run"],
        "window": {k: v.isoformat() for k, v in result["window"].items()},
        "by": result["by"],
        "weight": result["weight"],
        "revenue": money_str(result["revenue"]),
        "columns": result["columns"],
        "nodes": nodes,
        "links": links,
        "notes": result["notes"],
        "left_out": [{**stage, "amount": money_str(stage["amount"])} for stage in result["left_out"]],
    }


def left_out_summary(result: dict) -> dict | None:
    """What the page says under the drawing about the flows below zero (drawn as red hairlines):
    how many, per pair of columns with their sum (Decimal, signed), and the flows themselves by
    label, largest loss first. None when every flow is drawn to scale."""
    if not result["left_out"]:
        return None
    labels = {node["id"]: node["label"] for node in result["nodes"]}
    weight = result["weight"]
    flows = sorted(
        (
            {
                "source": labels.get(link["source"], link["source"]),
                "target": labels.get(link["target"], link["target"]),
                "amount": link[weight],
                "revenue": link["revenue"],
            }
            for link in result["links"]
            if link["below_zero"]
        ),
        key=lambda flow: flow["amount"],
    )
    return {
        "weight": weight,
        "flows": len(flows),
        "of": len(result["links"]),
        "stages": result["left_out"],
        "rows": flows,
    }


def for_page(body: dict, *, route_names: dict[str, str]) -> dict:
    """The API body as the page shows it: ship methods and routes to market in words (`route_names`:
    `segments.names.value_names` of the channel dimension); the API keeps the codes."""

    def relabel(item: dict) -> dict:
        item = {**item, "ship_methods": labelled_shares(item.get("ship_methods"), SHIP_METHOD_LABELS)}
        if item.get("channels"):
            item["channels"] = labelled_shares(item["channels"], route_names)
        for key, names in (("preferred_channel", route_names), ("preferred_ship_method", SHIP_METHOD_LABELS)):
            if item.get(key):
                code, share = item[key]
                item[key] = [names.get(code, code), share]
        return item

    return {**body, "nodes": [relabel(n) for n in body["nodes"]], "links": [relabel(link) for link in body["links"]]}


BY_LABELS = {"customer_class": "Customer class", "supply_chain_role": "Supply-chain role"}
WEIGHT_LABELS = {"revenue": "Revenue", "net_profit": "Net profit", "lines": "Lines", "customers": "Customers"}


def group_summaries(body: dict) -> list[dict]:
    """Per customer category (of the API body, with its links), for the page's table: how it
    prefers to buy and its interaction points."""
    out = []
    for node in body["nodes"]:
        if node["kind"] != "customer_group":
            continue
        channel, ship = node.get("preferred_channel"), node.get("preferred_ship_method")
        inter = node.get("interactions") or {}
        out.append(
            {
                "node": node,
                "loss": Decimal(node["net_profit"]) < 0,
                "channel": channel,
                "ship": ship,
                "interactions": inter,
                "top_kinds": list((inter.get("by_kind") or {}).items())[:3],
                "top_channels": list((inter.get("by_channel") or {}).items())[:2],
            }
        )
    return out

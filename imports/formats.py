"""The five import kinds: their canonical columns, types, aliases and natural keys (DATA_FORMAT.md).

Header matching ignores case, spaces and punctuation (`Customer ID`, `customer_id` and `CUSTOMER-ID`
are the same column), so aliases are listed once in that normalised form."""

import re
from dataclasses import dataclass, field

TEXT, INT, DECIMAL, DATE, BOOL, CHOICE = "text", "int", "decimal", "date", "bool", "choice"
# Free-text columns (summaries, notes, what a partner does): the models' channels.models.TEXT_MAX_CHARS.
TEXT_MAX_CHARS = 4000


@dataclass(frozen=True)
class Column:
    name: str
    type: str = TEXT
    required: bool = False
    aliases: tuple[str, ...] = ()
    max_length: int | None = 100
    choices: tuple[str, ...] = ()
    # For an optional CHOICE column: the value an empty cell gets.
    default: str = ""
    # For a number column: the smallest value allowed (None: any), e.g. 0 for stock on hand.
    minimum: int | None = None
    # For a required column: the file must have it, but a cell may be empty (inventory's branch:
    # empty means the single stock point).
    may_be_empty: bool = False

    @property
    def needs_value(self) -> bool:
        """Whether an empty cell of this column is an error."""
        return self.required and not self.may_be_empty


@dataclass(frozen=True)
class Kind:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    label: str = ""
    extra_required: tuple[str, ...] = field(default=())
    # Columns that must name a record the tenant already has ({column: entity}, e.g. a product):
    # a row naming another is an import error with its row, not a record created on the fly.
    references: tuple[tuple[str, str], ...] = ()

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


SUPPLY_CHAIN_ROLES = ("end_user", "reseller", "installer", "oem", "distributor", "other")
PARTNER_KINDS = ("supplier", "manufacturer", "reseller", "dealer", "installer", "logistics", "service", "other")
INTERACTION_KINDS = ("call", "visit", "email", "quote", "web", "service", "complaint", "delivery", "other")

_CUSTOMER_ID_ALIASES = (
    "customer",
    "cust",
    "custid",
    "custno",
    "custnum",
    "customerno",
    "customernum",
    "customernumber",
    "customercode",
    "account",
    "accountid",
    "accountno",
    "accountnumber",
    "acct",
    "acctno",
    "acctnum",
    "soldto",
    "soldtoid",
    "billto",
    "billtoid",
)
_PRODUCT_ID_ALIASES = (
    "product",
    "productno",
    "productcode",
    "productnumber",
    "sku",
    "item",
    "itemid",
    "itemno",
    "itemnum",
    "itemnumber",
    "itemcode",
    "partno",
    "partnum",
    "partnumber",
    "material",
    "materialno",
    "materialnumber",
)
_REP_ALIASES = (
    "rep",
    "repcode",
    "salesrep",
    "salesrepid",
    "salesrepcode",
    "salesperson",
    "salespersonid",
    "salespersoncode",
    "slsp",
    "salesman",
    "repemail",
)

INVOICE_LINES = Kind(
    name="invoice_lines",
    label="Invoice lines",
    key=("invoice_id", "line_no"),
    columns=(
        Column(
            "invoice_id",
            required=True,
            aliases=(
                "invoice",
                "invoiceno",
                "invoicenum",
                "invoicenumber",
                "invno",
                "invnum",
                "invoiceid",
                "order",
                "orderid",
                "orderno",
                "ordernum",
                "ordernumber",
                "docno",
                "documentno",
                "documentnumber",
            ),
        ),
        Column("line_no", INT, aliases=("line", "lineno", "linenum", "linenumber", "invoiceline", "seq", "lineseq")),
        Column(
            "invoice_date",
            DATE,
            required=True,
            aliases=("date", "invdate", "invoicedt", "orderdate", "postingdate", "shipdate", "docdate", "txndate"),
        ),
        Column("customer_id", required=True, aliases=_CUSTOMER_ID_ALIASES),
        Column("customer_name", max_length=255, aliases=("custname", "customername", "accountname", "soldtoname")),
        Column("customer_class", aliases=("customerclass", "custclass", "customertype", "segment", "class")),
        Column("product_id", required=True, aliases=_PRODUCT_ID_ALIASES),
        Column("product_name", max_length=255, aliases=("productname", "itemname", "description", "itemdescription")),
        Column("category", aliases=("productcategory", "productgroup", "prodgroup", "itemcategory", "itemgroup")),
        Column("brand", aliases=("manufacturer", "mfr", "mfg", "productline", "line_code")),
        Column("supplier_id", aliases=("supplier", "vendor", "vendorid", "vendorno", "supplierno", "suppliercode")),
        Column(
            "quantity", DECIMAL, required=True, aliases=("qty", "qtyshipped", "quantityshipped", "units", "shipqty")
        ),
        Column(
            "revenue",
            DECIMAL,
            required=True,
            aliases=(
                "sales",
                "salesamount",
                "sale",
                "netsales",
                "extsales",
                "extprice",
                "extendedprice",
                "extendedsales",
                "extamount",
                "extendedamount",
                "amount",
                "lineamount",
                "linetotal",
                "netamount",
                "netrevenue",
            ),
        ),
        Column(
            "cost",
            DECIMAL,
            required=True,
            aliases=("extcost", "extendedcost", "cogs", "costamount", "linecost", "totalcost", "costofgoods"),
        ),
        Column("ship_method", max_length=50, aliases=("shipmethod", "shipmode", "shipvia", "deliverymethod")),
        Column("branch", aliases=("location", "warehouse", "whse", "branchid", "store", "region")),
        Column("rep_id", aliases=_REP_ALIASES),
        Column("channel", aliases=("saleschannel", "ordersource", "source")),
        Column("partner_id", aliases=("partner", "reseller", "resellerid", "installer", "installerid")),
        Column("special_order", BOOL, aliases=("specialorder", "nonstock", "specialorderflag")),
        Column("days_to_pay", INT, aliases=("daystopay", "paymentdays", "dayspaid", "dso")),
    ),
)

CUSTOMERS = Kind(
    name="customers",
    label="Customers",
    key=("customer_id",),
    columns=(
        Column("customer_id", required=True, aliases=_CUSTOMER_ID_ALIASES),
        Column("name", required=True, max_length=255, aliases=("customername", "custname", "accountname", "company")),
        Column("customer_class", aliases=("customerclass", "custclass", "customertype", "segment", "class")),
        Column("supply_chain_role", CHOICE, max_length=20, choices=SUPPLY_CHAIN_ROLES, aliases=("role", "supplychain")),
        Column("industry", aliases=("sic", "naics", "vertical", "market")),
        Column("branch", aliases=("location", "homebranch", "warehouse", "whse")),
        Column("region", aliases=("territory", "area", "state")),
        Column("rep_id", aliases=_REP_ALIASES),
        Column("preferred_ship_method", max_length=50, aliases=("shipmethod", "shipvia", "preferredshipvia")),
        Column("potential_annual_spend", DECIMAL, aliases=("potential", "annualpotential", "potentialspend")),
        Column("reasons_for_purchase", max_length=TEXT_MAX_CHARS, aliases=("reasons", "buyingreasons", "whybuy")),
        Column("credit_terms_days", INT, aliases=("terms", "termsdays", "creditterms", "paymentterms")),
        Column("parent_customer_id", aliases=("parent", "parentid", "parentcustomer", "parentaccount", "corpid")),
    ),
)

PRODUCTS = Kind(
    name="products",
    label="Products",
    key=("product_id",),
    columns=(
        Column("product_id", required=True, aliases=_PRODUCT_ID_ALIASES),
        Column("name", max_length=255, aliases=("productname", "description", "itemdescription", "itemname")),
        Column("category", required=True, aliases=("productcategory", "productgroup", "prodgroup", "itemgroup")),
        Column("brand", aliases=("manufacturer", "mfr", "mfg", "productline")),
        Column("supplier_id", aliases=("supplier", "vendor", "vendorid", "vendorno", "supplierno")),
        Column("is_stock", BOOL, aliases=("stock", "stocked", "stockitem", "isstocked")),
        Column("replacement_cycle_days", INT, aliases=("replacementcycle", "cycledays", "replacementdays")),
    ),
)

PARTNERS = Kind(
    name="partners",
    label="Partners",
    key=("partner_id",),
    columns=(
        Column("partner_id", required=True, aliases=("partner", "partnerno", "partnercode", "vendorid", "id")),
        Column("name", required=True, max_length=255, aliases=("partnername", "company")),
        Column("kind", CHOICE, max_length=20, choices=PARTNER_KINDS, aliases=("type", "partnertype", "partnerkind")),
        Column("region", aliases=("territory", "area")),
        Column("supports_customer", max_length=TEXT_MAX_CHARS, aliases=("supports", "customersupported")),
        Column("services", max_length=TEXT_MAX_CHARS, aliases=("service", "whatitdoes")),
        Column("why_customers_use_it", max_length=TEXT_MAX_CHARS, aliases=("why", "whycustomersuseit", "reason")),
    ),
)

INTERACTIONS = Kind(
    name="interactions",
    label="Interactions",
    key=("natural_key",),
    columns=(
        Column("customer_id", required=True, aliases=_CUSTOMER_ID_ALIASES),
        Column("date", DATE, required=True, aliases=("interactiondate", "activitydate", "contactdate", "when")),
        Column(
            "kind",
            CHOICE,
            max_length=20,
            choices=INTERACTION_KINDS,
            default="other",
            aliases=("type", "activitytype", "interactiontype", "activity"),
        ),
        Column("rep_id", aliases=_REP_ALIASES),
        Column("channel", aliases=("medium", "via")),
        Column(
            "summary", max_length=TEXT_MAX_CHARS, aliases=("subject", "notes", "description", "comment", "comments")
        ),
        Column("usage_notes", max_length=TEXT_MAX_CHARS, aliases=("usage", "usagenotes")),
        Column("opportunity", BOOL, aliases=("isopportunity", "opp", "lead")),
    ),
)

# Stock per product and branch (issue 17: core-first operations). Optional: without it the operations
# pages say what importing it would add. Every product must be one the tenant already has (from its
# invoice lines or products file); one row per product x branch; quantities are never negative.
INVENTORY = Kind(
    name="inventory",
    label="Inventory",
    key=("product_id", "branch"),
    references=(("product_id", "products"),),
    columns=(
        Column("product_id", required=True, aliases=_PRODUCT_ID_ALIASES),
        Column(
            "branch", required=True, may_be_empty=True, aliases=("location", "warehouse", "whse", "branchid", "store")
        ),
        Column(
            "on_hand",
            DECIMAL,
            required=True,
            minimum=0,
            aliases=("onhand", "qtyonhand", "quantityonhand", "stock", "instock", "available", "qtyavailable"),
        ),
        Column("on_order", DECIMAL, minimum=0, aliases=("onorder", "qtyonorder", "quantityonorder", "openpo")),
        Column("lead_time_days", INT, minimum=0, aliases=("leadtime", "leadtimedays", "leaddays", "lt")),
        Column("as_of", DATE, aliases=("asof", "date", "snapshotdate", "countdate", "stockdate")),
    ),
)

KINDS: dict[str, Kind] = {k.name: k for k in (INVOICE_LINES, CUSTOMERS, PRODUCTS, PARTNERS, INTERACTIONS, INVENTORY)}
KIND_CHOICES = [(k.name, k.label) for k in KINDS.values()]
KIND_LABELS = dict(KIND_CHOICES)  # "Invoice lines" for invoice_lines, as pages name a kind

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normalize_header(name: object) -> str:
    """`Customer ID`, `customer_id`, ` CUSTOMER-ID ` -> `customerid`."""
    return _NON_ALNUM.sub("", str(name).lower())


def get_kind(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise KeyError(f"Unknown kind {name!r}: expected one of {', '.join(KINDS)}.") from None


def detect_columns(kind: Kind, headers: list[str]) -> dict[str, str]:
    """{canonical: source header} from names alone. A canonical name wins over an alias, and the first
    matching header wins among equals, so each source column feeds at most one canonical column."""
    normalized = {}
    for header in headers:
        normalized.setdefault(normalize_header(header), header)
    found: dict[str, str] = {}
    used: set[str] = set()
    # Two passes: exact canonical names first, then aliases, so `Sales` never shadows a real `revenue`.
    for col in kind.columns:
        header = normalized.get(normalize_header(col.name))
        if header is not None and header not in used:
            found[col.name] = header
            used.add(header)
    for col in kind.columns:
        if col.name in found:
            continue
        for alias in col.aliases:
            header = normalized.get(normalize_header(alias))
            if header is not None and header not in used:
                found[col.name] = header
                used.add(header)
                break
    return found

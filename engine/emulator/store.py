"""The emulator's in-memory state: plain dict rows in id-ordered tables.

Rows are plain dicts (cheap to create by the hundred thousand in batch ingestion, and directly
servable by GraphQL's default resolver). Each table hands out numeric ids in increasing order,
so insertion order is id order: cursor pagination by "id greater than" is a bisect into
``Table.ids``, and rows inserted during a crawl can never shift pages already read.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from typing import Any

Row = dict[str, Any]


class Table:
    """Rows of one entity type, in id order, with an optional unique-key index."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name
        self.rows: dict[int, Row] = {}
        self.ids: list[int] = []
        self.keys: dict[Any, Row] = {}
        self.next_id = 1

    def insert(self, row: Row, key: Any = None, row_id: int | None = None) -> Row:
        """Add a row; an explicit id must keep ids increasing (seeds name retailer ids)."""
        if row_id is None:
            row_id = self.next_id
        elif row_id < self.next_id:
            raise ValueError(f"{self.type_name} id {row_id} is not above the last id {self.next_id - 1}")
        self.next_id = row_id + 1
        row["id"] = str(row_id)
        self.rows[row_id] = row
        self.ids.append(row_id)
        if key is not None:
            self.keys[key] = row
        return row

    def get(self, row_id: Any) -> Row | None:
        """The row with this id (an int or its string form); None when absent or not an id at all."""
        try:
            return self.rows.get(int(row_id))
        except (TypeError, ValueError):
            return None

    def row(self, row_id: Any) -> Row:
        """The row with an id the emulator itself stored (a batch's job, a job's batches).

        Raises KeyError when there is none: that is a bug in the emulator, not bad input.
        """
        found = self.get(row_id)
        if found is None:
            raise KeyError(f"{self.type_name} {row_id!r} does not exist")
        return found

    def find(self, key: Any) -> Row | None:
        """The row inserted with this unique key (e.g. ``(retailerId, ref)``), or None."""
        return self.keys.get(key)

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[Row]:
        rows = self.rows
        return (rows[i] for i in self.ids)

    def after(self, row_id: int) -> Iterator[Row]:
        """Rows with id > row_id, ascending."""
        rows, ids = self.rows, self.ids
        return (rows[ids[k]] for k in range(bisect_right(ids, row_id), len(ids)))

    def before(self, row_id: int) -> Iterator[Row]:
        """Rows with id < row_id, descending."""
        rows, ids = self.rows, self.ids
        return (rows[ids[k]] for k in range(bisect_left(ids, row_id) - 1, -1, -1))


# Every table, by attribute name (state dumps and the control API list them).
TABLES = (
    "retailers",
    "users",
    "catalogues",
    "locations",
    "products",
    "inventory_positions",
    "inventory_quantities",
    "virtual_positions",
    "orders",
    "order_items",
    "fulfilments",
    "fulfilment_items",
    "articles",
    "consignments",
    "customers",
    "control_groups",
    "controls",
    "return_orders",
    "return_order_items",
    "financial_transactions",
    "jobs",
    "batches",
)

# GraphQL type name of each table's rows (used in cursors and state dumps).
TYPE_NAMES = {
    "retailers": "Retailer",
    "users": "User",
    "catalogues": "Catalogue",
    "locations": "Location",
    "products": "Product",
    "inventory_positions": "InventoryPosition",
    "inventory_quantities": "InventoryQuantity",
    "virtual_positions": "VirtualPosition",
    "orders": "Order",
    "order_items": "OrderItem",
    "fulfilments": "Fulfilment",
    "fulfilment_items": "FulfilmentItem",
    "articles": "Article",
    "consignments": "Consignment",
    "customers": "Customer",
    "control_groups": "ControlGroup",
    "controls": "Control",
    "return_orders": "ReturnOrder",
    "return_order_items": "ReturnOrderItem",
    "financial_transactions": "FinancialTransaction",
    "jobs": "Job",
    "batches": "Batch",
}


class Store:
    """All entities of one emulator instance. Mutated only on the server's event loop."""

    def __init__(self) -> None:
        self.retailers = Table("Retailer")
        self.users = Table("User")
        self.catalogues = Table("Catalogue")
        self.locations = Table("Location")
        self.products = Table("Product")
        self.inventory_positions = Table("InventoryPosition")
        self.inventory_quantities = Table("InventoryQuantity")
        self.virtual_positions = Table("VirtualPosition")
        self.orders = Table("Order")
        self.order_items = Table("OrderItem")
        self.fulfilments = Table("Fulfilment")
        self.fulfilment_items = Table("FulfilmentItem")
        self.articles = Table("Article")
        self.consignments = Table("Consignment")
        self.customers = Table("Customer")
        self.control_groups = Table("ControlGroup")
        self.controls = Table("Control")
        self.return_orders = Table("ReturnOrder")
        self.return_order_items = Table("ReturnOrderItem")
        self.financial_transactions = Table("FinancialTransaction")
        self.jobs = Table("Job")
        self.batches = Table("Batch")
        self.accounts: dict[str, Row] = {}
        self.tokens: dict[str, Row] = {}
        self.refresh_tokens: dict[str, Row] = {}
        self.events: dict[str, Row] = {}  # id -> log entry, insertion (= time) order
        self.event_rules: dict[tuple[str, str], Row] = {}
        self.webhooks: list[Row] = []
        self.product_refs: dict[str, set[str]] = {}  # retailerId -> product refs (any catalogue)
        self.location_refs: dict[str, set[str]] = {}  # retailerId -> location refs
        # Inventory quantities by (catalogue ref, quantity ref), Fluent's unique key for them; and,
        # per position id, the ids of its quantities other than the LAST_ON_HAND one that batch
        # ingestion keeps under the table key (position id, "LAST_ON_HAND").
        self.quantity_refs: dict[tuple[str, str], Row] = {}
        self.position_quantities: dict[str, list[str]] = {}
        self.sequence = 0  # for deterministic uuids and tokens

    # --- helpers shared by every writer ---------------------------------------------

    def next_uuid(self) -> str:
        """Deterministic, uuid-shaped ids (event ids): the n-th one is always the same."""
        self.sequence += 1
        n = self.sequence
        return f"{n:08x}-0000-4000-8000-{n:012x}"

    def table(self, name: str) -> Table:
        """A table by attribute name (one of :data:`TABLES`); KeyError for anything else."""
        table = getattr(self, name, None)
        if not isinstance(table, Table):
            raise KeyError(name)
        return table

    def add_location(self, row: Row) -> Row:
        """Insert a location keyed by ``(retailerId, ref)`` and index its ref under the retailer."""
        rid = row["retailerId"]
        self.locations.insert(row, key=(rid, row["ref"]))
        self.location_refs.setdefault(rid, set()).add(row["ref"])
        return row

    def add_product(self, row: Row) -> Row:
        """Insert a product keyed by ``(catalogueRef, ref)`` and index its ref under the retailer."""
        self.products.insert(row, key=(row["catalogueRef"], row["ref"]))
        self.product_refs.setdefault(row["retailerId"], set()).add(row["ref"])
        return row

    def catalogue(self, ref: str | None, kind: str | None = None) -> Row | None:
        """The catalogue with this ref, or None (also when ``kind`` is given and its type differs)."""
        row = self.catalogues.find(ref)
        if row is not None and kind is not None and row["type"] != kind:
            return None
        return row

    def find_product(self, retailer_id: str, ref: str, catalogue_ref: str | None = None) -> Row | None:
        """A product by ref, in the named catalogue or any product catalogue of the retailer."""
        if catalogue_ref:
            return self.products.find((catalogue_ref, ref))
        for cat in self.catalogues:
            if cat["type"] == "PRODUCT" and cat["retailerId"] == retailer_id:
                row = self.products.find((cat["ref"], ref))
                if row is not None:
                    return row
        return None

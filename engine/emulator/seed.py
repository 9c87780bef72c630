"""Seed files: the emulator's starting state, as YAML or a dict.

A seed lists accounts, retailers, users, catalogues, locations, products, inventory positions and
quantities (expected receipts, reservations), virtual positions, customers, control groups, orders
(with payments), fulfilments, return orders, event-log entries and event workflow rules, plus ``generate:``
blocks for bulk data (see ``seedgen``). ``extends: default`` (or a path) starts from another seed:
lists are appended, ``generate`` and ``settings`` keys replace the base's. Loading is
deterministic: the same seed always yields the same ids, refs, quantities and cursors.
The format is documented in docs/emulator.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from engine.emulator import entities, inventory, return_orders, seedgen
from engine.emulator.clock import normalise
from engine.emulator.handlers import BUILTIN_RULES, HANDLERS
from engine.emulator.store import Store
from engine.suggest import did_you_mean

DEFAULT_SEED = Path(__file__).with_name("seeds") / "default.yaml"

SECTIONS = (
    "version",
    "extends",
    "settings",
    "time",
    "accounts",
    "retailers",
    "users",
    "catalogues",
    "locations",
    "products",
    "inventoryPositions",
    "inventoryQuantities",
    "virtualPositions",
    "customers",
    "controlGroups",
    "orders",
    "fulfilments",
    "returnOrders",
    "events",
    "eventRules",
    "generate",
)
LIST_SECTIONS = SECTIONS[4:-1]


# Optional seed fields copied onto retailers and users as they are (null when absent).
RETAILER_CONTACT = (
    "summary",
    "websiteUrl",
    "websiteUrlName",
    "primaryEmail",
    "supportContactName",
    "supportEmail",
    "supportPhone",
)
USER_DETAILS = ("primaryPhone", "department", "country", "language", "promotionOptIn")


class SeedError(ValueError):
    """A seed is malformed; the message names the seed path of the problem."""


def read(source: str | Path | dict[str, Any] | None) -> dict[str, Any]:
    """Resolve a seed argument (None = default seed) into one dict with ``extends`` applied."""
    if source is None:
        source = DEFAULT_SEED
    if isinstance(source, dict):
        return _resolve(source, Path.cwd(), "seed")
    path = Path(source)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise SeedError(f"{path}: cannot read seed ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise SeedError(f"{path}: not valid YAML ({exc})") from None
    return _resolve(data, path.parent, str(path))


def parse_text(text: str) -> dict[str, Any]:
    """A seed sent to the control API as YAML or JSON text."""
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise SeedError(f"seed: not valid YAML or JSON ({exc})") from None
    return _resolve(data, Path.cwd(), "seed")


def _resolve(data: Any, base_dir: Path, label: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise SeedError(f"{label}: a seed must be a mapping of sections")
    for key in data:
        if key not in SECTIONS:
            raise SeedError(f"{label}.{key}: unknown seed section{did_you_mean(str(key), SECTIONS)}")
    if data.get("version", 1) != 1:
        raise SeedError(
            f"{label}.version: {data['version']!r} is not supported (this emulator reads version 1)"
        )
    parent = data.get("extends")
    if not parent:
        return dict(data)
    base = read(DEFAULT_SEED if parent == "default" else base_dir / str(parent))
    merged = dict(base)
    for key, value in data.items():
        if key == "extends":
            continue
        if key in LIST_SECTIONS:
            merged[key] = list(base.get(key) or []) + list(value or [])
        elif key in ("generate", "settings"):
            merged[key] = {**(base.get(key) or {}), **(value or {})}
        else:
            merged[key] = value
    return merged


def apply(store: Store, seed: dict[str, Any], now: str) -> None:
    """Insert a resolved seed's entities into ``store`` (which may already hold data)."""
    stamp = seed.get("time") or now
    loader = _Loader(store, stamp)
    for section in LIST_SECTIONS:
        items = seed.get(section) or []
        if not isinstance(items, list):
            raise SeedError(f"seed.{section}: expected a list")
        for index, item in enumerate(items):
            path = f"seed.{section}[{index}]"
            if not isinstance(item, dict):
                raise SeedError(f"{path}: expected a mapping")
            try:
                getattr(loader, section)(item)
            except KeyError as exc:
                raise SeedError(f"{path}: {exc.args[0]}") from exc
            except (TypeError, ValueError) as exc:
                raise SeedError(f"{path}: {exc}") from exc
        stage = {
            "locations": "locations",
            "products": "products",
            "inventoryPositions": "inventory_positions",
        }
        if section in stage:
            # Generated data may refer to explicit entities, so generators run in entity order.
            try:
                seedgen.run(store, seed.get("generate") or {}, stamp, stage=stage[section])
            except (KeyError, TypeError, ValueError) as exc:
                raise SeedError(str(exc)) from exc
    if "eventRules" not in seed and not store.event_rules:
        for rule in BUILTIN_RULES:
            loader.eventRules(dict(rule))


def _need(item: dict[str, Any], key: str) -> Any:
    value = item.get(key)
    if value is None or value == "":
        raise KeyError(f"missing required field '{key}'")
    return value


class _Loader:
    """One method per seed section; each validates its item and inserts rows."""

    def __init__(self, store: Store, now: str) -> None:
        self.store = store
        self.now = now

    def _retailer(self, item: dict[str, Any], key: str = "retailerId") -> str:
        rid = str(_need(item, key))
        if self.store.retailers.get(rid) is None:
            raise KeyError(f"{key} {rid!r} is not a seeded retailer")
        return rid

    def accounts(self, item: dict[str, Any]) -> None:
        account_id = str(_need(item, "id"))
        self.store.accounts[account_id] = {
            "id": account_id,
            "clientSecret": str(_need(item, "clientSecret")),
            "refreshTokens": bool(item.get("refreshTokens", False)),
        }

    def retailers(self, item: dict[str, Any]) -> None:
        account = str(item.get("account") or next(iter(self.store.accounts), ""))
        row = {
            "ref": _need(item, "ref"),
            "tradingName": item.get("tradingName") or item["ref"],
            "status": item.get("status") or "ACTIVE",
            "accountId": account,
            "createdOn": self.now,
            "updatedOn": self.now,
        }
        for key in RETAILER_CONTACT:
            row[key] = item.get(key)
        self.store.retailers.insert(row, key=row["ref"], row_id=int(_need(item, "id")))

    def users(self, item: dict[str, Any]) -> None:
        username = str(_need(item, "username"))
        retailer_ids = [str(r) for r in item.get("retailers") or []]
        for rid in retailer_ids:
            if self.store.retailers.get(rid) is None:
                raise KeyError(f"retailer {rid!r} is not a seeded retailer")
        row = {
            "ref": username,
            "username": username,
            "password": str(_need(item, "password")),
            "accountId": str(item.get("account") or next(iter(self.store.accounts), "")),
            "retailerIds": retailer_ids,
            "primaryLocationRef": item.get("primaryLocation"),
            "firstName": item.get("firstName"),
            "lastName": item.get("lastName"),
            "primaryEmail": item.get("primaryEmail"),
            "title": item.get("title"),
            "type": item.get("type") or "ADMIN",
            "status": "ACTIVE",
            "timezone": item.get("timezone"),
            "roles": item.get("roles"),
            "createdOn": self.now,
            "updatedOn": self.now,
        }
        for key in USER_DETAILS:
            row[key] = item.get(key)
        self.store.users.insert(row, key=username)

    def catalogues(self, item: dict[str, Any]) -> None:
        kind = str(_need(item, "type")).upper()
        if kind not in ("INVENTORY", "PRODUCT", "VIRTUAL"):
            raise ValueError(f"type {kind!r} is not INVENTORY, PRODUCT or VIRTUAL")
        row = {
            "ref": _need(item, "ref"),
            "type": kind,
            "name": item.get("name") or item["ref"],
            "retailerId": self._retailer(item),
            "groupRefs": item.get("groupRefs") or [],
            "status": "ACTIVE",
            "createdOn": self.now,
            "updatedOn": self.now,
        }
        if self.store.catalogues.find(row["ref"]):
            raise ValueError(f"catalogue {row['ref']!r} is already seeded")
        self.store.catalogues.insert(row, key=row["ref"])

    def locations(self, item: dict[str, Any]) -> None:
        rid = self._retailer(item)
        if self.store.locations.find((rid, _need(item, "ref"))):
            raise ValueError(f"location {item['ref']!r} is already seeded for retailer {rid}")
        entities.new_location(self.store, item, rid, item.get("createdOn") or self.now)

    def products(self, item: dict[str, Any]) -> None:
        catalogue = self.store.catalogue(_need(item, "catalogue"), "PRODUCT")
        if catalogue is None:
            raise KeyError(f"catalogue {item['catalogue']!r} is not a seeded product catalogue")
        if self.store.products.find((catalogue["ref"], _need(item, "ref"))):
            raise ValueError(f"product {item['ref']!r} is already in {catalogue['ref']}")
        entities.new_product(self.store, item, catalogue, item.get("createdOn") or self.now)

    def inventoryPositions(self, item: dict[str, Any]) -> None:
        catalogue = self.store.catalogue(_need(item, "catalogue"), "INVENTORY")
        if catalogue is None:
            raise KeyError(f"catalogue {item['catalogue']!r} is not a seeded inventory catalogue")
        sku, loc = _need(item, "productRef"), _need(item, "locationRef")
        if self.store.inventory_positions.find((catalogue["ref"], sku, loc)):
            raise ValueError(f"position {sku}:{loc} is already seeded")
        entities.new_position(
            self.store,
            catalogue["ref"],
            catalogue["retailerId"],
            sku,
            loc,
            int(item.get("onHand", 0)),
            item.get("updatedOn") or self.now,
        )

    def virtualPositions(self, item: dict[str, Any]) -> None:
        catalogue = self.store.catalogue(_need(item, "catalogue"), "VIRTUAL")
        if catalogue is None:
            raise KeyError(f"catalogue {item['catalogue']!r} is not a seeded virtual catalogue")
        row = {
            "ref": item.get("ref") or f"{item['groupRef']}:{_need(item, 'productRef')}",
            "productRef": item["productRef"],
            "groupRef": _need(item, "groupRef"),
            "quantity": int(item.get("quantity", 0)),
            "type": item.get("type") or "AVAILABLE_TO_SELL",
            "status": item.get("status") or "ACTIVE",
            "catalogueRef": catalogue["ref"],
            "retailerId": catalogue["retailerId"],
            "createdOn": self.now,
            "updatedOn": self.now,
        }
        self.store.virtual_positions.insert(row, key=(catalogue["ref"], row["groupRef"], row["productRef"]))

    def customers(self, item: dict[str, Any]) -> None:
        rid = self._retailer(item)
        if self.store.customers.find((rid, _need(item, "ref"))):
            raise ValueError(f"customer {item['ref']!r} is already seeded for retailer {rid}")
        entities.new_customer(self.store, item, rid, self.now)

    def controlGroups(self, item: dict[str, Any]) -> None:
        rid = self._retailer(item)
        ref = _need(item, "ref")
        if self.store.control_groups.find(ref):
            raise ValueError(f"control group {ref!r} is already seeded")
        group = entities.new_control_group(self.store, {**item, "retailerRefs": None}, rid, self.now)
        for index, control in enumerate(item.get("controls") or []):
            if not isinstance(control, dict) or not control.get("ref"):
                raise KeyError(f"controls[{index}]: missing required field 'ref'")
            entities.new_control(self.store, control, group, self.now)

    def orders(self, item: dict[str, Any]) -> None:
        rid = self._retailer(item)
        if self.store.orders.find((rid, _need(item, "ref"))):
            raise ValueError(f"order {item['ref']!r} is already seeded")
        for index, line in enumerate(item.get("items") or []):
            if self.store.find_product(rid, _need(line, "productRef")) is None:
                raise KeyError(f"items[{index}].productRef {line['productRef']!r} is not a seeded product")
        for index, payment in enumerate(item.get("financialTransactions") or []):
            _need(payment, "amount")
            if not (payment.get("currency") or item.get("currency")):
                raise KeyError(f"financialTransactions[{index}]: missing 'currency' (the order has none)")
        entities.new_order(self.store, item, rid, item.get("createdOn") or self.now)

    def fulfilments(self, item: dict[str, Any]) -> None:
        order_ref = _need(item, "order")
        order = next((o for o in self.store.orders if o["ref"] == order_ref), None)
        if order is None:
            raise KeyError(f"order {order_ref!r} is not seeded")
        entities.new_fulfilment(self.store, item, order, item.get("createdOn") or self.now)

    def inventoryQuantities(self, item: dict[str, Any]) -> None:
        catalogue = self.store.catalogue(_need(item, "catalogue"), "INVENTORY")
        if catalogue is None:
            raise KeyError(f"catalogue {item['catalogue']!r} is not a seeded inventory catalogue")
        if inventory.find_quantity(self.store, catalogue["ref"], str(_need(item, "ref"))):
            raise ValueError(f"quantity {item['ref']!r} is already seeded in {catalogue['ref']}")
        fields = {**item, "type": _need(item, "type")}
        if item.get("expectedOn"):
            fields["expectedOn"] = normalise(str(item["expectedOn"]))
        inventory.new_quantity(self.store, self._position(item, catalogue), fields, self.now)

    def _position(self, item: dict[str, Any], catalogue: dict[str, Any]) -> dict[str, Any]:
        """The position a seeded quantity names, created with nothing on hand when not seeded.

        Creating it keeps seeds that extend the default one but generate other positions loadable.
        """
        if "position" in item:
            ref = str(_need(item, "position"))
            found = inventory.find_position(self.store, catalogue["ref"], ref)
            if found is not None:
                return found
            sku, _, loc = ref.partition(":")
        else:
            sku, loc = str(_need(item, "productRef")), str(_need(item, "locationRef"))
        rid = catalogue["retailerId"]
        if loc not in self.store.location_refs.get(rid, set()):
            raise KeyError(
                f"location {loc!r} of position {sku}:{loc} is not a seeded location of retailer {rid}"
            )
        if sku not in self.store.product_refs.get(rid, set()):
            raise KeyError(
                f"product {sku!r} of position {sku}:{loc} is not a seeded product of retailer {rid}"
            )
        return inventory.position_at(self.store, catalogue, sku, loc, self.now)

    def returnOrders(self, item: dict[str, Any]) -> None:
        rid = self._retailer(item)
        if self.store.return_orders.find((rid, _need(item, "ref"))):
            raise ValueError(f"return order {item['ref']!r} is already seeded for retailer {rid}")
        fields = {**item, "returnOrderItems": item.get("items") or []}
        if not fields.get("customer") and item.get("order"):
            order = self.store.orders.find((rid, item["order"]))
            fields["customer"] = ((order or {}).get("customer") or {}).get("ref")
        fields = return_orders.normalise(fields, rid)
        try:
            return_orders.check(self.store, fields, rid)
        except return_orders.Unknown as exc:
            raise KeyError(str(exc)) from None
        return_orders.new_return_order(self.store, fields, rid, self.now)

    def events(self, item: dict[str, Any]) -> None:
        entry = dict(item)
        entry.setdefault("id", self.store.next_uuid())
        entry.setdefault("generatedOn", self.now)
        entry.setdefault("eventStatus", "COMPLETE")
        entry.setdefault("context", {})
        self.store.events[entry["id"]] = entry

    def eventRules(self, item: dict[str, Any]) -> None:
        rule = {
            "name": _need(item, "name"),
            "entityType": _need(item, "entityType"),
            "handler": _need(item, "handler"),
            "status": item.get("status"),
        }
        if rule["handler"] not in HANDLERS:
            known = sorted(HANDLERS)
            raise ValueError(
                f"handler {rule['handler']!r} is not one of {', '.join(known)}"
                f"{did_you_mean(str(rule['handler']), known)}"
            )
        self.store.event_rules[(rule["name"], rule["entityType"])] = rule

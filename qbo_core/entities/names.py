"""Name-list entities (Customer, Vendor, Employee, Account, Item) and CompanyInfo."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import ClassVar, final

import attrs

from qbo_core.entities.base import EntityBase
from qbo_core.entities.parts import (
    EmailAddress,
    NameValue,
    PhysicalAddress,
    Ref,
    TelephoneNumber,
    WebSiteAddress,
)

__all__ = ["Account", "CompanyInfo", "Customer", "Employee", "Item", "Vendor"]


@final
@attrs.frozen(kw_only=True, repr=False)
class Customer(EntityBase):
    """A customer, or a job (sub-customer, `job=True`, with `parent_ref`)."""

    ENTITY_TYPE: ClassVar[str] = "Customer"
    _REPR_FIELDS: ClassVar[tuple[str, ...]] = ("id", "display_name")

    display_name: str | None = None
    title: str | None = None
    given_name: str | None = None
    middle_name: str | None = None
    family_name: str | None = None
    suffix: str | None = None
    company_name: str | None = None
    fully_qualified_name: str | None = None
    print_on_check_name: str | None = None
    active: bool | None = None
    taxable: bool | None = None
    job: bool | None = None
    bill_with_parent: bool | None = None
    parent_ref: Ref | None = None
    level: int | None = None
    balance: Decimal | None = None
    balance_with_jobs: Decimal | None = None
    open_balance_date: date | None = None
    currency_ref: Ref | None = None
    preferred_delivery_method: str | None = None
    primary_email_addr: EmailAddress | None = None
    primary_phone: TelephoneNumber | None = None
    alternate_phone: TelephoneNumber | None = None
    mobile: TelephoneNumber | None = None
    fax: TelephoneNumber | None = None
    web_addr: WebSiteAddress | None = None
    bill_addr: PhysicalAddress | None = None
    ship_addr: PhysicalAddress | None = None
    notes: str | None = None
    default_tax_code_ref: Ref | None = None
    sales_term_ref: Ref | None = None
    payment_method_ref: Ref | None = None
    resale_num: str | None = None


@final
@attrs.frozen(kw_only=True, repr=False)
class Vendor(EntityBase):
    """A supplier of goods or services."""

    ENTITY_TYPE: ClassVar[str] = "Vendor"
    _REPR_FIELDS: ClassVar[tuple[str, ...]] = ("id", "display_name")

    display_name: str | None = None
    title: str | None = None
    given_name: str | None = None
    middle_name: str | None = None
    family_name: str | None = None
    suffix: str | None = None
    company_name: str | None = None
    print_on_check_name: str | None = None
    active: bool | None = None
    balance: Decimal | None = None
    acct_num: str | None = None
    vendor_1099: bool | None = None
    tax_identifier: str | None = None
    currency_ref: Ref | None = None
    term_ref: Ref | None = None
    primary_email_addr: EmailAddress | None = None
    primary_phone: TelephoneNumber | None = None
    alternate_phone: TelephoneNumber | None = None
    mobile: TelephoneNumber | None = None
    fax: TelephoneNumber | None = None
    web_addr: WebSiteAddress | None = None
    bill_addr: PhysicalAddress | None = None


@final
@attrs.frozen(kw_only=True, repr=False)
class Employee(EntityBase):
    """An employee (payroll details are not part of the accounting API)."""

    ENTITY_TYPE: ClassVar[str] = "Employee"
    _REPR_FIELDS: ClassVar[tuple[str, ...]] = ("id", "display_name")

    display_name: str | None = None
    title: str | None = None
    given_name: str | None = None
    middle_name: str | None = None
    family_name: str | None = None
    suffix: str | None = None
    print_on_check_name: str | None = None
    active: bool | None = None
    employee_number: str | None = None
    ssn: str | None = None
    gender: str | None = None
    billable_time: bool | None = None
    bill_rate: Decimal | None = None
    cost_rate: Decimal | None = None
    birth_date: date | None = None
    hired_date: date | None = None
    released_date: date | None = None
    primary_addr: PhysicalAddress | None = None
    primary_email_addr: EmailAddress | None = None
    primary_phone: TelephoneNumber | None = None
    mobile: TelephoneNumber | None = None


@final
@attrs.frozen(kw_only=True, repr=False)
class Account(EntityBase):
    """An account of the chart of accounts."""

    ENTITY_TYPE: ClassVar[str] = "Account"
    _REPR_FIELDS: ClassVar[tuple[str, ...]] = ("id", "name", "account_type")

    name: str | None = None
    acct_num: str | None = None
    description: str | None = None
    sub_account: bool | None = None
    parent_ref: Ref | None = None
    fully_qualified_name: str | None = None
    active: bool | None = None
    classification: str | None = None
    account_type: str | None = None
    account_sub_type: str | None = None
    current_balance: Decimal | None = None
    current_balance_with_sub_accounts: Decimal | None = None
    currency_ref: Ref | None = None
    tax_code_ref: Ref | None = None


@final
@attrs.frozen(kw_only=True, repr=False)
class Item(EntityBase):
    """A product or service sold or bought (`type`: Inventory, NonInventory, Service, ...)."""

    ENTITY_TYPE: ClassVar[str] = "Item"
    _REPR_FIELDS: ClassVar[tuple[str, ...]] = ("id", "name", "type")

    name: str | None = None
    sku: str | None = None
    description: str | None = None
    active: bool | None = None
    sub_item: bool | None = None
    parent_ref: Ref | None = None
    level: int | None = None
    fully_qualified_name: str | None = None
    type: str | None = None
    taxable: bool | None = None
    sales_tax_included: bool | None = None
    unit_price: Decimal | None = None
    income_account_ref: Ref | None = None
    purchase_desc: str | None = None
    purchase_cost: Decimal | None = None
    expense_account_ref: Ref | None = None
    asset_account_ref: Ref | None = None
    track_qty_on_hand: bool | None = None
    qty_on_hand: Decimal | None = None
    inv_start_date: date | None = None
    sales_tax_code_ref: Ref | None = None
    purchase_tax_code_ref: Ref | None = None


@final
@attrs.frozen(kw_only=True, repr=False)
class CompanyInfo(EntityBase):
    """The company itself: names, addresses, fiscal year, settings as `name_value` pairs."""

    ENTITY_TYPE: ClassVar[str] = "CompanyInfo"
    _REPR_FIELDS: ClassVar[tuple[str, ...]] = ("id", "company_name")

    company_name: str | None = None
    legal_name: str | None = None
    company_addr: PhysicalAddress | None = None
    customer_communication_addr: PhysicalAddress | None = None
    legal_addr: PhysicalAddress | None = None
    customer_communication_email_addr: EmailAddress | None = None
    email: EmailAddress | None = None
    primary_phone: TelephoneNumber | None = None
    web_addr: WebSiteAddress | None = None
    company_start_date: date | None = None
    fiscal_year_start_month: str | None = None
    country: str | None = None
    supported_languages: str | None = None
    default_time_zone: str | None = None
    name_value: tuple[NameValue, ...] | None = None

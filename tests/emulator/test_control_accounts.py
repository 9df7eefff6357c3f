"""Lines cannot post straight to A/R or A/P: the balances of customers and vendors stay true."""

from __future__ import annotations

import json
from typing import Any

import pytest

from qbo_adapters.emulator.app import QBOEmulator
from qbo_adapters.emulator.datagen import validate_integrity
from qbo_adapters.emulator.settings import EmulatorSettings
from qbo_adapters.emulator.transport import EmulatorTransport
from qbo_adapters.memory.clock import FakeClock
from qbo_core.http import HttpRequest


def _account(emulator: QBOEmulator, account_type: str) -> str:
    company = emulator.companies[emulator.realm_ids[0]]
    return str(next(a for a in company.all("Account") if a["AccountType"] == account_type)["Id"])


def _expense_line(account: str) -> dict[str, Any]:
    return {
        "Amount": 50,
        "DetailType": "AccountBasedExpenseLineDetail",
        "AccountBasedExpenseLineDetail": {"AccountRef": {"value": account}},
    }


def _journal(debit: str, credit: str) -> dict[str, Any]:
    def line(posting: str, account: str) -> dict[str, Any]:
        return {
            "Amount": 50,
            "DetailType": "JournalEntryLineDetail",
            "JournalEntryLineDetail": {"PostingType": posting, "AccountRef": {"value": account}},
        }

    return {"Line": [line("Debit", debit), line("Credit", credit)]}


@pytest.mark.parametrize("control", ["Accounts Receivable", "Accounts Payable"])
@pytest.mark.parametrize("entity", ["bill", "purchase", "journalentry"])
async def test_posting_to_a_control_account_is_refused_and_books_stay_consistent(
    entity: str, control: str
) -> None:
    """Bill, purchase and journal lines on A/R or A/P get QBO's 6000 and change nothing."""
    emulator = QBOEmulator(EmulatorSettings(seed=3), clock=FakeClock())
    realm = emulator.realm_ids[0]
    company = emulator.companies[realm]
    token = emulator.oauth.mint_tokens(realm)["access_token"]
    target = _account(emulator, control)
    vendor = str(next(iter(company.all("Vendor")))["Id"])
    bank = _account(emulator, "Bank")
    body: dict[str, Any]
    if entity == "bill":
        body = {"VendorRef": {"value": vendor}, "Line": [_expense_line(target)]}
    elif entity == "purchase":
        body = {
            "PaymentType": "Cash",
            "AccountRef": {"value": bank},
            "Line": [_expense_line(target)],
        }
    else:
        body = _journal(target, _account(emulator, "Income"))
    response = await EmulatorTransport(emulator).send(
        HttpRequest(
            method="POST",
            url=f"http://emulator.invalid/v3/company/{realm}/{entity}",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            body=json.dumps(body).encode(),
        )
    )
    assert response.status == 400
    error = json.loads(response.body)["Fault"]["Error"][0]
    assert error["code"] == "6000"
    assert control in error["Detail"]
    assert validate_integrity(company.snapshot(), now=emulator.clock.now()) == []


@pytest.mark.parametrize(
    ("path", "wrong"),
    [
        (("CheckPayment", "BankAccountRef"), "Accounts Receivable"),
        (("CheckPayment", "BankAccountRef"), "Expense"),
        (("APAccountRef",), "Bank"),
    ],
)
async def test_bill_payment_accounts_must_be_of_their_kind(
    path: tuple[str, ...], wrong: str
) -> None:
    """A bill payment's bank and A/P references refuse other kinds of account (6000)."""
    emulator = QBOEmulator(EmulatorSettings(seed=3), clock=FakeClock())
    realm = emulator.realm_ids[0]
    company = emulator.companies[realm]
    token = emulator.oauth.mint_tokens(realm)["access_token"]
    vendor = str(next(iter(company.all("Vendor")))["Id"])
    created = await EmulatorTransport(emulator).send(
        HttpRequest(
            method="POST",
            url=f"http://emulator.invalid/v3/company/{realm}/bill",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            body=json.dumps(
                {
                    "VendorRef": {"value": vendor},
                    "Line": [_expense_line(_account(emulator, "Expense"))],
                }
            ).encode(),
        )
    )
    assert created.status == 200, created.body
    bill = json.loads(created.body)["Bill"]
    body: dict[str, Any] = {
        "VendorRef": bill["VendorRef"],
        "PayType": "Check",
        "TotalAmt": 1,
        "CheckPayment": {"BankAccountRef": {"value": _account(emulator, "Bank")}},
        "Line": [{"Amount": 1, "LinkedTxn": [{"TxnId": bill["Id"], "TxnType": "Bill"}]}],
    }
    node = body
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = {"value": _account(emulator, wrong)}
    response = await EmulatorTransport(emulator).send(
        HttpRequest(
            method="POST",
            url=f"http://emulator.invalid/v3/company/{realm}/billpayment",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            body=json.dumps(body).encode(),
        )
    )
    assert response.status == 400, response.body
    assert json.loads(response.body)["Fault"]["Error"][0]["code"] == "6000"
    assert validate_integrity(company.snapshot(), now=emulator.clock.now()) == []

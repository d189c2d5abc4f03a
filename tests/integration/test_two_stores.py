"""Sign-up and erasure with one of the two databases failing at commit: one outcome, always.

Every commit of a chosen store is counted from the start of the operation; the runs fail one
commit, or every commit from one on (a store going away), on each store in turn. Whatever
failed, ``find_splits`` sees only what the next attempt finishes or undoes, the next attempt
does, and so does ``flask vault check --repair``.
"""

from __future__ import annotations

import itertools
from contextlib import contextmanager, suppress

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from app.customers.models import Customer
from app.errors import AssensoError
from app.extensions import db
from app.vault.consistency import find_splits, repair_all
from app.vault.erasure import erase_customer
from app.vault.keystore import wrapped_keys
from app.vault.models import CustomerKey, Erasure, ProfileField
from tests.integration.builders import make_customer

STORES = {"main": None, "keystore": "keystore"}
_emails = itertools.count(1)


class CommitFaults:
    """Counts the commits of one store and fails those chosen (by their number, from 1)."""

    def __init__(self, store: str, failing) -> None:
        self.engine = db.engines[STORES[store]]
        self.failing = failing
        self.count = 0

    def __call__(self, _connection) -> None:
        self.count += 1
        if self.failing(self.count):
            raise OperationalError("COMMIT", {}, Exception("injected commit failure"))

    @contextmanager
    def installed(self):
        """Fail commits while the block runs."""
        event.listen(self.engine, "commit", self)
        try:
            yield self
        finally:
            event.remove(self.engine, "commit", self)


def commits_of(store: str, operation) -> int:
    """How many commits ``operation`` makes on ``store`` when nothing fails."""
    with CommitFaults(store, lambda _n: False).installed() as counter:
        operation()
    return counter.count


def plans(sign_ups: int) -> list[tuple[str, str, int]]:
    """(store, 'one'|'from', n) for every commit number up to ``sign_ups`` of each store."""
    return [
        (store, mode, n)
        for store in STORES
        for mode in ("one", "from")
        for n in range(1, sign_ups + 1)
    ]


def failing(mode: str, n: int):
    """The predicate failing commit ``n`` only, or every commit from ``n`` on."""
    return (lambda count: count == n) if mode == "one" else (lambda count: count >= n)


def new_email() -> str:
    return f"two.stores{next(_emails)}@example.org"


def kinds(session) -> list[str]:
    return sorted({split.kind for split in find_splits(session)})


def test_every_interrupted_sign_up_is_undone_by_the_next_attempt(session):
    per_store = {
        store: commits_of(store, lambda: make_customer(session, email=new_email()))
        for store in STORES
    }
    runs = plans(max(per_store.values()) + 1)
    outcomes = {"failed": 0, "completed": 0}
    for store, mode, n in runs:
        email = new_email()
        with CommitFaults(store, failing(mode, n)).installed():
            try:
                customer = make_customer(session, email=email)
            except AssensoError:
                outcomes["failed"] += 1
                customer = None
            else:
                outcomes["completed"] += 1
        assert set(kinds(session)) <= {"signup-unfinished"}, (store, mode, n)
        if customer is None:
            customer = make_customer(session, email=email)  # the next attempt
        assert kinds(session) == [], (store, mode, n)
        assert wrapped_keys(session, [customer.id]), (store, mode, n)
        session.rollback()
    assert outcomes["failed"] >= len(runs) // 2  # the faults did hit the sign-up
    live = session.scalar(select(func.count()).select_from(Customer))
    assert session.scalar(select(func.count()).select_from(CustomerKey)) == live


def test_an_interrupted_sign_up_is_not_a_customer_until_undone(session, runner):
    from app.vault.directory import find_customer_by_email
    from app.vault.registration import SignUpInterrupted

    email = new_email()
    # The first main commit is the read of unfinished sign-ups; the second writes the customer;
    # the key store then fails for good, and so does undoing: the sign-up stays pending.
    with (
        CommitFaults("keystore", failing("from", 1)).installed(),
        CommitFaults("main", failing("from", 3)).installed(),
        pytest.raises(SignUpInterrupted, match="try again"),
    ):
        make_customer(session, email=email)
    assert kinds(session) == ["signup-unfinished"]
    pending = session.scalar(select(Customer).where(Customer.registration_pending.is_(True)))
    assert not pending.is_active and find_customer_by_email(session, email) is None
    session.rollback()
    result = runner.invoke(args=["vault", "status"])
    assert "splits between the database and the key store: 1" in result.output
    result = runner.invoke(args=["vault", "check"])
    assert result.exit_code == 1 and "sign-up not finished" in result.output
    result = runner.invoke(args=["vault", "check", "--repair"])
    assert result.exit_code == 0, result.output
    assert "Repaired 1 split" in result.output
    assert runner.invoke(args=["vault", "check"]).exit_code == 0
    assert session.scalar(select(func.count()).select_from(Customer)) == 0
    assert session.scalar(select(func.count()).select_from(ProfileField)) == 0


def _erasable(session):
    customer = make_customer(session, email=new_email())
    session.commit()
    return customer


def _erased_completely(session, customer_id: int) -> bool:
    customer = session.get(Customer, customer_id)
    fields = session.scalar(
        select(func.count())
        .select_from(ProfileField)
        .where(ProfileField.customer_id == customer_id)
    )
    record = session.scalar(select(Erasure.id).where(Erasure.customer_ref == customer.ref))
    return (
        customer.erased_at is not None
        and not wrapped_keys(session, [customer_id])
        and fields == 0
        and record is not None
    )


@pytest.mark.parametrize("resume", ["next attempt", "repair"])
def test_every_interrupted_erasure_is_finished(session, resume):
    per_store = {
        store: commits_of(
            store,
            lambda: erase_customer(session, _erasable(session), actor="customer", reason="test"),
        )
        for store in STORES
    }
    for store, mode, n in plans(max(per_store.values()) + 1):
        customer = _erasable(session)
        customer_id = customer.id
        with CommitFaults(store, failing(mode, n)).installed(), suppress(AssensoError):
            erase_customer(session, customer, actor="customer", reason="portal")
        found = kinds(session)
        assert set(found) <= {"erasure-unfinished"}, (store, mode, n, found)
        again = session.get(Customer, customer_id)
        if found and resume == "next attempt":
            erase_customer(session, again, actor="customer", reason="portal")
        elif found:
            assert repair_all(session) == 1
        elif again.erased_at is None:  # nothing was recorded: the erasure is simply asked again
            erase_customer(session, again, actor="customer", reason="portal")
        assert kinds(session) == [], (store, mode, n)
        assert _erased_completely(session, customer_id), (store, mode, n)
        session.rollback()


def test_check_finds_and_repairs_every_kind_of_split(session, runner):
    keep = make_customer(session, email=new_email())
    lost_key = make_customer(session, email=new_email())
    erased = make_customer(session, email=new_email())
    session.commit()
    key_of_erased = wrapped_keys(session, [erased.id])[erased.id]
    erase_customer(session, erased, actor="customer", reason="test")
    with db.engines["keystore"].begin() as keys:
        keys.execute(CustomerKey.__table__.delete().where(CustomerKey.customer_id == lost_key.id))
        keys.execute(
            CustomerKey.__table__.insert().values(
                [
                    {"customer_id": erased.id, "kek_version": 1, "wrapped_key": key_of_erased.blob},
                    {"customer_id": 9999, "kek_version": 1, "wrapped_key": b"orphan"},
                ]
            )
        )
    assert kinds(session) == ["erased-key-remains", "key-missing", "orphan-key"]
    assert list(find_splits(session, range_size=1)) == list(find_splits(session))
    result = runner.invoke(args=["vault", "check"])
    assert result.exit_code == 1
    assert "3 splits" in result.output and "customer 9999 (no customer)" in result.output
    result = runner.invoke(args=["vault", "check", "--repair"])
    assert result.exit_code == 0, result.output
    assert kinds(session) == []
    assert _erased_completely(session, lost_key.id)
    assert wrapped_keys(session, [keep.id])  # the customer in good order is untouched
    assert session.get(Customer, keep.id).erased_at is None

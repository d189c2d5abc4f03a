"""Each staff role signs in through a real browser and lands on its own console."""

from __future__ import annotations

import pytest

from tests.browser.conftest import axe_violations
from tests.conftest import TEST_PASSWORD

HOMES = {"admin": "/admin/", "marketer": "/marketing/", "compliance_officer": "/compliance/"}


@pytest.mark.parametrize("role", sorted(HOMES))
def test_staff_role_signs_in_and_out(page, create_staff, role):
    user = create_staff(role)
    page.goto("/staff/login")
    page.get_by_label("E-mail address").fill(user.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{HOMES[role]}")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/")
    assert page.get_by_text("You are signed out.").is_visible()


def test_public_pages_have_no_serious_accessibility_violations(page):
    for path in ("/", "/staff/login", "/login"):
        page.goto(path)
        assert axe_violations(page) == [], path

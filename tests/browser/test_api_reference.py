"""The API reference page draws the OpenAPI document under the strict CSP (no bypass)."""

from __future__ import annotations


def test_the_reference_page_draws_the_document_without_csp_violations(browser, live_server):
    context = browser.new_context(base_url=live_server)
    page = context.new_page()
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.goto("/api/v1/docs")
    page.get_by_text("/api/v1/decisions/batch").first.wait_for(timeout=20_000)
    assert page.get_by_role("heading", name="Assenso API").first.is_visible()
    assert refused == []
    context.close()

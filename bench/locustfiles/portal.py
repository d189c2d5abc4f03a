"""Locust users of ``bench/load.py``: customers in the portal, staff in the consoles.

Started by ``bench/load.py`` (``locust --headless -f bench/locustfiles/portal.py``), which
writes the accounts to ``LOAD_ACCOUNTS`` (JSON) and reads every request's time back from
``LOAD_SAMPLES`` (JSON lines: group, name, milliseconds, failed), so that percentiles over a
group of pages are exact rather than merged from per-page summaries.

Each customer signs in once (argon2id makes sign-in deliberately slow; it is timed apart),
then browses their pages and now and then changes their contact limits, with one to three
seconds of thinking between pages.
"""

from __future__ import annotations

import json
import os
import random
import re
from pathlib import Path

from locust import HttpUser, between, events, task

ACCOUNTS = json.loads(Path(os.environ["LOAD_ACCOUNTS"]).read_text())
_customers = iter(ACCOUNTS["customers"])
_staff = iter(ACCOUNTS["staff"])
_samples: list[tuple[str, str, float, bool]] = []
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
VERSION = re.compile(r'name="version"[^>]*value="([^"]+)"')


@events.request.add_listener
def _record(name, response_time, exception, **_kwargs):
    group = name.split(" ", 1)[0]
    _samples.append((group, name, response_time, exception is not None))


@events.quitting.add_listener
def _write(**_kwargs):
    with open(os.environ["LOAD_SAMPLES"], "w") as out:
        for sample in _samples:
            out.write(json.dumps(sample) + "\n")


def _expect(response, status: int) -> str:
    """The body, after marking the request failed when its status is not ``status``."""
    if response.status_code != status:
        response.failure(f"status {response.status_code}, expected {status}")
    else:
        response.success()
    return response.text


class _SignedIn(HttpUser):
    abstract = True
    wait_time = between(1, 3)

    def sign_in(self, form: str, email: str, password: str) -> None:
        with self.client.get(form, name=f"sign-in GET {form}", catch_response=True) as page:
            token = CSRF.search(_expect(page, 200))
        data = {"csrf_token": token.group(1) if token else "", "email": email, "password": password}
        with self.client.post(
            form,
            data=data,
            name=f"sign-in POST {form}",
            allow_redirects=False,
            catch_response=True,
        ) as answer:
            _expect(answer, 302)

    def page(self, group: str, path: str) -> str:
        with self.client.get(path, name=f"{group} {path}", catch_response=True) as response:
            return _expect(response, 200)


class Customer(_SignedIn):
    """A customer reading and changing their preferences in the portal."""

    weight = 50

    def on_start(self) -> None:
        account = next(_customers)
        self.sign_in("/login", account["email"], account["password"])

    @task(3)
    def home(self) -> None:
        self.page("portal", "/me/")

    @task(2)
    def data(self) -> None:
        self.page("portal", "/me/data")

    @task(2)
    def contact(self) -> None:
        self.page("portal", "/me/contact")

    @task(1)
    def history(self) -> None:
        self.page("portal", "/me/history")

    @task(1)
    def account(self) -> None:
        self.page("portal", "/me/account")

    @task(1)
    def change_limits(self) -> None:
        html = self.page("portal", "/me/contact")
        form = html[html.find('action="/me/contact/limits"') :]
        form = form[: form.find("</form>")]
        csrf, version = CSRF.search(form), VERSION.search(form)
        data = {
            "csrf_token": csrf.group(1) if csrf else "",
            "version": version.group(1) if version else "",
            "w0-day": ["0", "1", "2", "3", "4"],
            "w0-start": "09:00",
            "w0-end": f"{random.randint(17, 21)}:00",
            "weekly_cap": str(random.randint(1, 7)),
            "paused_until": "",
            "preferred_channel": random.choice(["", "email"]),
        }
        with self.client.post(
            "/me/contact/limits",
            data=data,
            name="portal POST /me/contact/limits",
            allow_redirects=False,
            catch_response=True,
        ) as answer:
            _expect(answer, 302)

    @task(1)
    def health(self) -> None:
        self.page("baseline", "/healthz")


class Staff(_SignedIn):
    """A marketer or compliance officer looking at their console."""

    fixed_count = int(os.environ.get("LOAD_STAFF", "2"))

    def on_start(self) -> None:
        account = next(_staff)
        self.home = account["home"]
        self.pages = account["pages"]
        self.sign_in("/staff/login", account["email"], account["password"])

    @task
    def browse(self) -> None:
        self.page("console", random.choice([self.home, *self.pages]))

"""Locust workload of bench/loadtest.py: the three roles at once against the production server.

Each simulated user is one role, logged in by a session cookie the load test created (LOADTEST_SESSIONS,
a JSON file {role: session key}); the weights give a manager-heavy office: managers browse the
dashboard, the all-customers list and the profit centers, reps their customers, customers their
scorecard. The minimal page (the jobs list) is requested by managers too, under the same load, so its
p95 is the yardstick. Requests carry X-Forwarded-Proto: https, as behind the nginx of
docs/OPERATIONS.md."""

import json
import os

from locust import HttpUser, between, task

SESSIONS = json.loads(open(os.environ["LOADTEST_SESSIONS"]).read())  # noqa: SIM115
SLUG = os.environ.get("LOADTEST_TENANT", "bench-pages")
# Think time between a user's requests, seconds (min,max): short, so 10 users keep 2 workers busy.
WAIT = tuple(float(x) for x in os.environ.get("LOADTEST_WAIT", "0.1,0.5").split(","))


class Role(HttpUser):
    abstract = True
    role = ""
    wait_time = between(*WAIT)

    def on_start(self):
        self.client.headers.update({"X-Forwarded-Proto": "https"})
        self.client.cookies.set("sessionid", SESSIONS[self.role])

    def page(self, path: str, name: str):
        with self.client.get(f"/{SLUG}/{path}", name=name, allow_redirects=False, catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"HTTP {r.status_code}")


class Manager(Role):
    role, weight = "manager", 3

    @task(3)
    def dashboard(self):
        self.page("dashboard/", "manager: dashboard")

    @task(2)
    def customers(self):
        self.page("customers/", "manager: customers (all)")

    @task(1)
    def filtered(self):
        self.page("customers/?segment=core&movement=down", "manager: customers core+down")

    @task(2)
    def profit_centers(self):
        self.page("profit-centers/", "manager: profit centers")

    @task(2)
    def minimal(self):
        self.page("jobs/", "minimal page (jobs list)")


class Rep(Role):
    role, weight = "rep", 4

    @task
    def my_customers(self):
        self.page("customers/", "rep: my customers")


class Customer(Role):
    role, weight = "customer", 3

    @task
    def scorecard(self):
        self.page("scorecard/", "customer: scorecard")

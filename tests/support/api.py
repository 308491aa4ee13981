"""A small REST client for the live platform, and waiting on execution states."""

import time

import requests

from apps.executions.choices import TERMINAL


class Api:
    """Calls the live API as one user; methods return `requests.Response`."""

    def __init__(self, base_url: str, token: str | None = None, api_key: str | None = None):
        self.base_url = base_url
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        if api_key:
            self.session.headers["X-API-Key"] = api_key

    def get(self, path: str, **kwargs):
        return self.session.get(self.base_url + path, timeout=30, **kwargs)

    def post(self, path: str, json=None, **kwargs):
        return self.session.post(self.base_url + path, json=json, timeout=30, **kwargs)

    def put(self, path: str, json=None, **kwargs):
        return self.session.put(self.base_url + path, json=json, timeout=30, **kwargs)

    def delete(self, path: str, **kwargs):
        return self.session.delete(self.base_url + path, timeout=30, **kwargs)

    def run(self, action: str, **parameters) -> dict:
        """Request an execution and return it (asserting the request was accepted)."""
        response = self.post("/api/v1/executions", {"action": action, "parameters": parameters})
        assert response.status_code == 201, response.text
        return response.json()

    def wait_for(self, execution_id: int, statuses=TERMINAL, timeout: float = 60.0) -> dict:
        """Wait until the execution reaches one of `statuses`; return it."""
        deadline = time.monotonic() + timeout
        delay = 0.02
        while True:
            execution = self.get(f"/api/v1/executions/{execution_id}").json()
            if execution["status"] in statuses:
                return execution
            if time.monotonic() > deadline:
                raise AssertionError(f"execution {execution_id} stuck in {execution['status']}")
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)

    def run_and_wait(self, action: str, **parameters) -> dict:
        return self.wait_for(self.run(action, **parameters)["id"])

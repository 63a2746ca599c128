"""``wardwatch dashboards push``: the boards into a running Grafana through grafana-client (the
maintained successor of ``grafana-api``), one folder per language, overwriting our own boards.

The API token comes from the environment (``GRAFANA_TOKEN``), never from the command line, where
any user of the machine could read it in the process list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from grafana_client import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException

from wardwatch.errors import UsageError, WardwatchError
from wardwatch.i18n import text

from .export import folder_title

TOKEN_ENV = "GRAFANA_TOKEN"


class PushError(WardwatchError):
    """Grafana refused the boards or could not be reached."""


@dataclass(frozen=True)
class Pushed:
    boards: int
    folders: tuple[str, ...]


def _say(key: str, **values: object) -> str:
    return "\n".join(text(key, **values))


def check_url(url: str) -> str:
    u = urlsplit(url)
    if u.scheme not in ("http", "https") or not u.hostname:
        raise UsageError(_say("dashboards.cli.bad_url", url=url))
    if u.username or u.password:  # credentials in a URL end up in the process list too
        raise UsageError(_say("dashboards.cli.no_token", env=TOKEN_ENV))
    return url.rstrip("/")


def push(url: str, token: str | None, docs: dict[str, list[dict[str, Any]]], timeout: float = 30.0) -> Pushed:
    url = check_url(url)
    if not token:
        raise UsageError(_say("dashboards.cli.no_token", env=TOKEN_ENV))
    api = GrafanaApi.from_url(url, credential=token, timeout=timeout)
    count = 0
    folders = []
    try:
        for lang, boards in docs.items():
            uid, title = f"wardwatch-{lang}", folder_title(lang)
            try:
                api.folder.get_folder(uid)
            except GrafanaClientError as e:
                if e.status_code != 404:
                    raise
                api.folder.create_folder(title, uid=uid)
            folders.append(title)
            for doc in boards:
                api.dashboard.update_dashboard(
                    {
                        "dashboard": {**doc, "id": None},
                        "folderUid": uid,
                        "overwrite": True,
                        "message": "wardwatch dashboards push",
                    }
                )
                count += 1
    except GrafanaException as e:
        raise PushError(
            _say("dashboards.cli.push_failed", url=url, reason=f"HTTP {e.status_code}: {e.message}")
        ) from None
    except (OSError, ValueError) as e:  # niquests' connection errors derive from OSError / IOError
        raise PushError(
            _say(
                "dashboards.cli.unreachable",
                url=url,
                reason=str(e).splitlines()[0] if str(e) else type(e).__name__,
            )
        ) from None
    return Pushed(count, tuple(folders))

"""With web_remote = true: the desk shows the last sync and Jetzt synchronisieren brings
the web server's unsubscribes in, as newsletter sync does."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from newsletter.store.syncstate import last_sync
from newsletter.workspace import Workspace
from tests.desk_support import desk_running
from tests.test_web_sync import ONE_CLICK, set_up_pair
from tests.web_support import recipients


def test_jetzt_synchronisieren_brings_the_unsubscribes_in(
    workspace: Workspace, tmp_path: Path
) -> None:
    with contextmanager(set_up_pair)(workspace, tmp_path / "server") as pair:
        pair.client.post("/abmelden", params={"token": pair.tokens["mitglieder"]}, data=ONE_CLICK)
        assert "anna@example.org" in recipients(pair.office)
        with desk_running(pair.office.root) as desk:
            client = desk.client()
            page = client.get("/").text
            assert "Noch nie abgeglichen." in page
            assert "Jetzt synchronisieren" in page
            answer = desk.post(client, "/abgleich", back="/")
            assert answer.status_code == 303, answer.text
            assert "1 Abmeldungen übernommen" in client.get(answer.headers["location"]).text
            assert "Letzter Abgleich:" in client.get("/").text
        assert recipients(pair.office) == {"ben@example.org"}
        assert last_sync(pair.office) is not None


def test_without_web_remote_there_is_nothing_to_sync(workspace: Workspace) -> None:
    with desk_running(workspace.root) as desk:
        assert "Jetzt synchronisieren" not in desk.client().get("/").text

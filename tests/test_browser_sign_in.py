"""Sign-in for real: a local OpenID Connect provider (oidc-provider-mock) on a free localhost
port, a `streamlit run` server whose secrets file points its [auth] at it, and Chromium
signing in through the provider's own form. A viewer finds no way to review; an approver
approves, and the stored review carries her address, verified. Without sign-in, a typed name
survives a reload."""

import secrets
import uuid

import pytest
from sqlalchemy import select

from tests.gallery_helpers import add_poster
from tests.test_browser_e2e import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, NO_MOTION_CSS, free_port, server, streamlit_server  # noqa: F401

ROLES = """
[roles]
default = "viewer"
approver = ["ann@example.com"]
"""


@pytest.fixture
def oidc_provider():
    oidc_provider_mock = pytest.importorskip(
        "oidc_provider_mock", reason="oidc-provider-mock is in requirements.txt: pip install -r requirements.txt"
    )
    pytest.importorskip("authlib", reason="Streamlit's sign-in needs Authlib: pip install -r requirements.txt")
    users = [
        oidc_provider_mock.User(sub="vera@example.com", claims={"email": "vera@example.com", "name": "Vera"}),
        oidc_provider_mock.User(sub="ann@example.com", claims={"email": "ann@example.com", "name": "Ann"}),
    ]
    with oidc_provider_mock.run_server_in_thread(user_claims=users) as provider:
        yield f"http://localhost:{provider.server_port}"


def seed_poster(data_dir) -> tuple[str, int]:
    from core.settings import load_settings
    from storage.db import open_database
    from storage.files import ImageStore

    settings = load_settings({"STUDIO_DATA_DIR": str(data_dir), "STUDIO_DEMO": "1", "STUDIO_DEVICE": "cpu"})
    db = open_database(settings.database_url)
    poster_id, _ = add_poster(db, ImageStore(settings.storage_url), seed=21)
    db.dispose()
    return settings.database_url, poster_id


@pytest.fixture
def signed_in_server(tmp_path, demo_models_dir, oidc_provider):
    """The studio with sign-in on. Its secrets file lives in the test's folder and is named on
    the command line (--secrets.files), so no .streamlit/secrets.toml is written anywhere."""
    database_url, poster_id = seed_poster(tmp_path / "data")
    port = free_port()
    secrets_file = tmp_path / "secrets.toml"
    secrets_file.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(32)}"\n'
        f'client_id = "studio-{uuid.uuid4().hex[:8]}"\n'
        'client_secret = "test-secret"\n'
        f'server_metadata_url = "{oidc_provider}/.well-known/openid-configuration"\n'
    )
    roles_file = tmp_path / "roles.toml"
    roles_file.write_text(ROLES)
    with streamlit_server(
        tmp_path, demo_models_dir, env={"STUDIO_ROLES_FILE": str(roles_file)},
        args=["--secrets.files", str(secrets_file)], port=port,
    ) as url:
        yield url, database_url, poster_id


def shown(text: str) -> str:
    """Text as the page shows it: an address carries an invisible word joiner before its @,
    which keeps Markdown from making it a link (pages/ui/markdown_text.py)."""
    return text.replace("@", "\u2060@")


def sign_in(page, url: str, who: str) -> None:
    from playwright.sync_api import expect

    page.goto(url)
    page.get_by_role("button", name="Sign in").click()
    # The provider's own form, then back to the studio.
    page.get_by_role("button", name=who).click()
    expect(page.get_by_text(shown(f"Signed in as {who}"))).to_be_visible(timeout=60_000)


def test_sign_in_through_a_real_provider_and_roles_hold(signed_in_server):
    from playwright.sync_api import expect, sync_playwright

    from storage.db import open_database
    from storage.models import Review

    url, database_url, poster_id = signed_in_server
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        try:
            # Not signed in: only the sign-in page, whatever the address.
            page.goto(f"{url}/gallery?poster={poster_id}")
            expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=90_000)
            expect(page.get_by_role("link", name="Gallery")).to_have_count(0)

            sign_in(page, url, "vera@example.com")
            expect(page.get_by_text(shown("Signed in as vera@example.com · viewer"))).to_be_visible()
            expect(page.get_by_test_id("stSidebar").get_by_role("link", name="Gallery")).to_be_visible()
            expect(page.get_by_role("link", name="Compose")).to_have_count(0)  # not a viewer's page
            page.goto(f"{url}/gallery?poster={poster_id}")
            expect(page.get_by_text("you can read the reviews but not add one")).to_be_visible(timeout=30_000)
            expect(page.get_by_role("button", name="Save review")).to_have_count(0)
            expect(page.get_by_text("Approve", exact=True)).to_have_count(0)
            expect(page.get_by_role("textbox", name="Your name (kept in this browser; your reviews are signed with it)")).to_have_count(0)
            page.add_style_tag(content=NO_MOTION_CSS)
            page.screenshot(path=str(ARTIFACTS / "sign_in_viewer.png"), full_page=True)

            page.get_by_role("button", name="Sign out").click()
            # Streamlit ends the session at the provider too; its page confirms, then returns.
            page.get_by_role("button", name="End session").click()
            expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=30_000)

            sign_in(page, url, "ann@example.com")
            expect(page.get_by_text(shown("Signed in as ann@example.com · approver"))).to_be_visible()
            page.goto(f"{url}/gallery?poster={poster_id}")
            expect(page.get_by_text(shown("Reviewing as ann@example.com (signed in, approver)"))).to_be_visible(timeout=30_000)
            form = page.get_by_test_id("stForm").first
            form.get_by_text("★★★★", exact=True).click()
            form.get_by_text("Approve", exact=True).click()
            form.get_by_role("textbox", name="Comment").fill("Good to go")
            form.get_by_role("button", name="Save review").click()
            expect(page.get_by_text("Review saved: ★★★★☆ · Approve.")).to_be_visible(timeout=30_000)
            page.add_style_tag(content=NO_MOTION_CSS)
            page.screenshot(path=str(ARTIFACTS / "sign_in_approver.png"), full_page=True)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "failure_sign_in.png"), full_page=True)
            raise
        finally:
            browser.close()

    db = open_database(database_url)
    try:
        with db.reader() as session:
            rows = session.execute(select(Review.reviewer, Review.reviewer_verified, Review.verdict, Review.comment)).all()
    finally:
        db.dispose()
    assert rows == [("ann@example.com", True, "approve", "Good to go")]


def test_without_sign_in_a_typed_name_survives_a_reload(tmp_path, demo_models_dir):
    from playwright.sync_api import expect, sync_playwright

    _, poster_id = seed_poster(tmp_path / "data")
    with streamlit_server(tmp_path, demo_models_dir) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        try:
            page.goto(f"{url}/gallery?poster={poster_id}")
            name_box = page.get_by_role("textbox", name="Your name (kept in this browser; your reviews are signed with it)")
            name_box.fill("Ann", timeout=90_000)
            page.get_by_role("button", name="Start reviewing").click()
            expect(page.get_by_text("Reviewing as Ann (unverified: a typed name, remembered in this browser)")).to_be_visible(timeout=30_000)

            page.reload()
            expect(page.get_by_text("Reviewing as Ann (unverified: a typed name, remembered in this browser)")).to_be_visible(timeout=60_000)
            expect(name_box).to_have_count(0)

            # "Change name" forgets it in this browser, across reloads too.
            page.get_by_role("button", name="Change name").click()
            expect(name_box).to_be_visible(timeout=30_000)
            page.reload()
            expect(name_box).to_be_visible(timeout=60_000)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "failure_typed_name.png"), full_page=True)
            raise
        finally:
            browser.close()

"""What browser tests share."""

from tests import factories as f


def sign_in_collector(page, live_server, username):
    """Sign a collector in through the login page (the factories' password), landing on the worklist."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f.PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{live_server.url}/worklist/")

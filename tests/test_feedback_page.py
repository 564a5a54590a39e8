"""The labelling page in a real headless Chromium: clicks and keys record judgements, model text stays text.

The browser is Debian's ``chromium`` with ``chromium-driver`` (``make install`` installs them where it can);
the test is skipped, saying so, only where neither can be found on this machine.
"""

import json
import shutil
import urllib.error
import urllib.request

import pytest
from feedback_serving import serving

from tokengym.feedback.candidates import Candidate
from tokengym.feedback.preferences import read_preferences

BROWSER = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    BROWSER is None or DRIVER is None,
    reason="needs Chromium and its driver on PATH (chromium, chromedriver: apt-get install chromium chromium-driver)",
)

NASTY = "<script>window.pwned=1</script><b>bold</b>"
PAIRS = [
    Candidate("User: Hi!\nAssistant:", " Hello! How can I help?", " What."),
    Candidate("Say something <i>odd</i>.", NASTY, ' <img src=x onerror="window.pwned=2"> plain'),
    Candidate("Q: 2+2?\nA:", " 4", " 5"),
    Candidate("User: Tell me a joke.\nAssistant:", " No.", " Go away."),
    Candidate("User: Thanks!\nAssistant:", " You're welcome!", " Sure."),
]


@pytest.fixture
def served(tmp_path):
    with serving(tmp_path, PAIRS) as server:
        yield server


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = BROWSER
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    options.add_argument("--window-size=1280,1000")
    driver = webdriver.Chrome(options=options, service=Service(DRIVER))
    yield driver
    driver.quit()


def test_label_by_clicks_and_keys_then_export(served, browser, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait

    def text(element_id: str) -> str:
        return browser.find_element(By.ID, element_id).text

    def wait_for_progress(judged: int) -> None:
        expected = f"{judged} of {len(PAIRS)} judged"
        WebDriverWait(browser, 15).until(lambda d: d.find_element(By.ID, "progress").text == expected)

    def keys(*sequence: str) -> None:
        chain = ActionChains(browser)
        for key in sequence:
            chain.send_keys(key)
        chain.perform()

    browser.get(served.url)
    wait_for_progress(0)
    assert text("prompt") == "User: Hi!\nAssistant:" and text("a") == " Hello! How can I help?"

    # Pair 1 by clicks: a rating, a comment, then the verdict button.
    Select(browser.find_element(By.ID, "rating")).select_by_value("4")
    browser.find_element(By.ID, "comment").send_keys("polite & helpful <3")
    browser.find_element(By.ID, "verdict-A").click()
    wait_for_progress(1)

    # Pair 2 holds markup and a script: shown as text, nothing of it runs or becomes an element.
    assert browser.find_element(By.ID, "a").get_attribute("textContent") == NASTY
    assert text("prompt") == "Say something <i>odd</i>."
    assert "<img src=x" in text("b")
    assert browser.execute_script("return window.pwned") is None
    assert browser.find_elements(By.TAG_NAME, "b") == []
    assert browser.find_elements(By.TAG_NAME, "img") == []
    assert browser.find_elements(By.TAG_NAME, "i") == []
    assert len(browser.find_elements(By.TAG_NAME, "script")) == 1  # the page's own
    keys("r", "3", "2")  # rating 3, then B is better
    wait_for_progress(2)
    assert browser.execute_script("return window.pwned") is None

    keys("t")  # pair 3: a tie
    wait_for_progress(3)
    browser.find_element(By.ID, "verdict-both_bad").click()  # pair 4: both bad
    wait_for_progress(4)
    keys("c", "typed in the box", Keys.ESCAPE, "1")  # pair 5: a comment by keyboard, then A
    wait_for_progress(5)
    WebDriverWait(browser, 15).until(lambda d: d.find_element(By.ID, "done").is_displayed())
    assert "All 5 pairs are judged by ana" in text("done")
    assert not browser.find_element(By.ID, "pair").is_displayed()

    out = tmp_path / "prefs.jsonl"
    assert served.store.export(out) == 5
    prefs = read_preferences(out)
    got = [(p.metadata["pair_id"], p.metadata["verdict"], p.rating, p.metadata.get("comment")) for p in prefs]
    assert got == [
        (1, "A", 4, "polite & helpful <3"),
        (2, "B", 3, None),
        (3, "tie", None, None),
        (4, "both_bad", None, None),
        (5, "A", None, "typed in the box"),
    ]
    assert prefs[1].chosen == PAIRS[1].b and prefs[1].rejected == NASTY and prefs[2].tie


def test_requests_without_the_token_or_with_a_forged_pair_are_refused(served, browser):
    base = f"http://127.0.0.1:{served.port}"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(base + "/", timeout=10)
    assert refused.value.code == 403
    browser.get(base + "/")
    assert "a valid token is needed" in browser.page_source

    browser.get(served.url)
    post = """
        const [pairId, token, done] = arguments;
        fetch("/api/judgements", {method: "POST", headers: {"Content-Type": "application/json"},
                                  body: JSON.stringify({token, pair_id: pairId, verdict: "A"})})
          .then(async (r) => done([r.status, await r.text()]));
    """
    status, body = browser.execute_async_script(post, 999, served.token)
    assert status == 404 and "no pair with id 999" in json.loads(body)["error"]
    status, _ = browser.execute_async_script(post, 1, "forged-token-of-some-length")
    assert status == 403
    assert served.store.judgements() == []

"""Headless Chromium through Selenium, on Debian's `chromium` and `chromedriver` (installed by `make browsers`;
nothing is downloaded at run time: the driver's path is given, so Selenium Manager is never asked)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
PAGE_TIMEOUT_S = 30


def chromium_paths() -> tuple[str, str] | None:
    browser = next((shutil.which(name) for name in CHROMIUM if shutil.which(name)), None)
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def start_chromium(width: int = 1400, height: int = 1000) -> webdriver.Chrome:
    paths = chromium_paths()
    if paths is None:
        raise RuntimeError("chromium and chromedriver are missing: run `make browsers` (Debian packages)")
    browser, driver = paths
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--disable-extensions",
        "--no-first-run",
        "--password-store=basic",
        f"--window-size={width},{height}",
    ):
        options.add_argument(flag)
    chrome = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    chrome.set_page_load_timeout(PAGE_TIMEOUT_S)
    chrome.set_script_timeout(PAGE_TIMEOUT_S)
    return chrome


def wait_until(
    predicate: Callable[[], object], *, timeout: float = 15, interval: float = 0.1, what: str = ""
):
    """The first truthy value of `predicate`, polled; AssertionError naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except Exception as exc:  # an element replaced mid-read (htmx swaps): read again
            last_error, value = exc, None
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or 'the page'} ({last_error!r})")


def sign_in(chrome: webdriver.Chrome, base_url: str, username: str, password: str) -> None:
    chrome.delete_all_cookies()
    chrome.get(f"{base_url}/login/")
    chrome.find_element(By.ID, "id_username").send_keys(username)
    chrome.find_element(By.ID, "id_password").send_keys(password)
    chrome.find_element(By.ID, "sign-in").click()
    wait_until(lambda: "/login/" not in chrome.current_url, what="the sign-in to go through")


def text_of(chrome: webdriver.Chrome, element_id: str) -> str:
    return chrome.find_element(By.ID, element_id).text.strip()

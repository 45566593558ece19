"""Drives /label in headless Chromium over the DevTools protocol (scripts/browser-check)."""
import argparse
import base64
import json
import sqlite3
import sys
import time
import urllib.request

import websocket  # websocket-client


class Page:
    def __init__(self, devtools):
        targets = json.load(urllib.request.urlopen(f"http://{devtools}/json/list"))
        page = next(t for t in targets if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.evaluate(expression):
                return
            time.sleep(0.05)
        raise TimeoutError(f"timed out waiting for {expression}")

    def click(self, selector):
        box = self.evaluate(f"""(() => {{ const r = document.querySelector({json.dumps(selector)})
            .getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()""")
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)

    def key(self, key, code, keycode, shift=False):
        modifiers = 8 if shift else 0
        for kind in ("rawKeyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent", type=kind, key=key, code=code, windowsVirtualKeyCode=keycode,
                      modifiers=modifiers)

    def type(self, text):
        self.call("Input.insertText", text=text)

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", format="png")["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))


def order(page):
    return page.evaluate("[...document.querySelectorAll('#responses li')].map(li => +li.dataset.index)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--devtools", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--screenshots", required=True)
    args = parser.parse_args()

    page = Page(args.devtools)
    page.call("Page.enable")
    page.call("Page.navigate", url=f"{args.server}/label")
    page.wait_for("document.readyState === 'complete' && !!document.getElementById('labeler')")
    page.wait_for("document.getElementById('prompt').textContent.includes('labeler name')")

    # Type the labeler name as a person would, then leave the field (fires `change`).
    page.click("#labeler")
    page.type("browser-check")
    page.key("Tab", "Tab", 9)
    page.wait_for("document.getElementById('prompt').textContent === 'What is 2 + 2?'")

    # Task 1: responses ["5", "4", "Four, …"]. Focus starts on "5": Shift+↓ twice moves it to the
    # bottom → [4, Four, 5]; then click "Four" and Shift+↑ → [Four, 4, 5].
    page.wait_for("document.activeElement && document.activeElement.tagName === 'LI'")
    page.key("ArrowDown", "ArrowDown", 40, shift=True)
    page.key("ArrowDown", "ArrowDown", 40, shift=True)
    assert order(page) == [1, 2, 0], order(page)
    page.click("#responses li:nth-child(2)")  # focus "Four, …"
    page.key("ArrowUp", "ArrowUp", 38, shift=True)
    first = order(page)
    assert first == [2, 1, 0], first
    page.click("#demonstration")
    page.type("2 + 2 = 4.")
    page.screenshot(f"{args.screenshots}/label-ranked.png")
    page.click("#submit")
    page.wait_for("document.getElementById('prompt').textContent === 'Name a primary colour.'")

    # Task 2: ["Green", "Red", "Blue", "Purple"]: press 2 to focus "Red", move it to the top with k,
    # then focus "Blue" (3) and move it up once with Shift+↑ → [Red, Blue, Green, Purple].
    page.key("2", "Digit2", 50)
    page.key("k", "KeyK", 75)
    page.key("3", "Digit3", 51)
    page.key("ArrowUp", "ArrowUp", 38, shift=True)
    second = order(page)
    assert second == [1, 2, 0, 3], second
    # Submit with Ctrl+Enter.
    for kind in ("rawKeyDown", "keyUp"):
        page.call("Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter", windowsVirtualKeyCode=13,
                  modifiers=2)
    page.wait_for("document.getElementById('prompt').textContent === 'Say hello politely.'")
    page.wait_for("document.getElementById('stats').textContent.startsWith('2 judgements')")
    page.screenshot(f"{args.screenshots}/label-next.png")

    # Task 3 is left unranked. The database must hold exactly the two judgements made above.
    rows = sqlite3.connect(args.database).execute(
        "SELECT prompt, responses, ranking, labeler, demonstration, source FROM judgement ORDER BY id").fetchall()
    expected = [
        ("What is 2 + 2?", ["5", "4", "Four, because 2 + 2 = 4."], first, "browser-check", "2 + 2 = 4.", "candidates:0"),
        ("Name a primary colour.", ["Green", "Red", "Blue", "Purple"], second, "browser-check", None, "candidates:1"),
    ]
    got = [(p, json.loads(r), json.loads(k), l, d, s) for p, r, k, l, d, s in rows]
    if got != expected:
        print("database mismatch:\n  got      ", got, "\n  expected ", expected)
        sys.exit(1)
    print(f"browser check passed: 2 judgements stored; screenshots in {args.screenshots}")

    # The chat page loads and streams a reply from the API.
    page.call("Page.navigate", url=f"{args.server}/")
    page.wait_for("document.readyState === 'complete' && document.getElementById('model').textContent === 'demo'")
    page.click("#input")
    page.type("hello browser")
    page.key("Enter", "Enter", 13)
    page.wait_for("[...document.querySelectorAll('.assistant')].some(d => d.textContent.includes('hello browser'))")
    page.screenshot(f"{args.screenshots}/chat.png")
    print("chat page streamed a reply")


if __name__ == "__main__":
    main()

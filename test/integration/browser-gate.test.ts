// When the console's browser test runs (helpers/browser.ts): required in CI
// (UMBRA_BROWSER_TESTS=1, after scripts/install-chromium.sh), run where
// Debian's chromium is installed, skipped with a reason where it is not.
import { describe, expect, it } from "vitest";
import { browserGate, CHROMIUM, requireChromium } from "./helpers/browser.js";

const present = () => true;
const absent = () => false;

describe("the browser test's gate", () => {
  it("runs, required, with UMBRA_BROWSER_TESTS=1, whether or not chromium is there", () => {
    expect(browserGate({ UMBRA_BROWSER_TESTS: "1" }, absent)).toEqual({ run: true, required: true });
    expect(browserGate({ UMBRA_BROWSER_TESTS: "1" }, present)).toEqual({ run: true, required: true });
  });

  it("runs where chromium is installed, and is skipped with a reason where it is not", () => {
    expect(browserGate({}, present)).toEqual({ run: true, required: false });
    expect(browserGate({ UMBRA_BROWSER_TESTS: "0" }, present)).toEqual({ run: true, required: false });
    const skipped = browserGate({}, absent);
    expect(skipped).toEqual({ run: false, reason: expect.stringContaining(`${CHROMIUM} is not installed`) });
  });

  it("fails clearly when chromium is required and missing", () => {
    expect(() => requireChromium(absent)).toThrow(/^UMBRA_BROWSER_TESTS=1 but \/usr\/bin\/chromium is missing: install it with scripts\/install-chromium\.sh/);
    expect(() => requireChromium(present)).not.toThrow();
  });
});

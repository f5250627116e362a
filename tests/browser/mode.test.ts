/**
 * When the browser tests run, skip or fail: skipped only on a machine without chromium and outside CI, so a
 * CI image whose chromium install broke goes red instead of silently losing the browser tests.
 */
import { browserTestMode } from "./support/chromium";

const chromiumPath = "/usr/bin/chromium";

describe("browserTestMode", () => {
  test("runs whenever chromium is there, under CI or not", () => {
    expect(browserTestMode({ chromiumPath, chromiumExists: true, ci: undefined })).toEqual({ mode: "run" });
    expect(browserTestMode({ chromiumPath, chromiumExists: true, ci: "true" })).toEqual({ mode: "run" });
  });

  test("skips, saying why and how to install it, only when chromium is missing and CI is unset or empty", () => {
    for (const ci of [undefined, ""]) {
      const mode = browserTestMode({ chromiumPath, chromiumExists: false, ci });
      expect(mode.mode).toBe("skip");
      expect(mode).toMatchObject({ reason: expect.stringMatching(/no chromium at \/usr\/bin\/chromium.*apt-get install/) });
    }
  });

  test("fails when chromium is missing and CI is set to anything", () => {
    for (const ci of ["true", "1", "false"]) {
      const mode = browserTestMode({ chromiumPath, chromiumExists: false, ci });
      expect(mode.mode).toBe("fail");
      expect(mode).toMatchObject({ reason: expect.stringContaining("CI is set") });
    }
  });
});

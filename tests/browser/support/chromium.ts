/**
 * A real headless browser for the verification pages: Debian's `chromium` driven by `playwright-core`
 * (which ships no browser of its own; it is pointed at the system binary with `executablePath`).
 *
 * playwright-core 1.65 publishes both builds (`exports["."]` has `require: ./index.js` and
 * `import: ./index.mjs`), so jest's own CommonJS loader reads it with a plain import; no `nodeRequire`
 * (sandbox/esm.ts) is needed.
 *
 * When the browser tests run, skip or fail (`browserTestMode`): a laptop without chromium skips them with
 * a message saying why; CI never does. `.ci/run` installs Debian's `chromium` when `/usr/bin/chromium` is
 * missing, so a missing browser under `CI` means the install broke, and that must turn the build red
 * rather than quietly drop a whole layer of tests.
 */
import { existsSync } from "node:fs";
import { mkdir, readdir, rm } from "node:fs/promises";
import path from "node:path";
import { type Browser, type BrowserContext, chromium, type ConsoleMessage, type Page } from "playwright-core";

/** The browser binary: Debian's package path, or `CHROMIUM_PATH` to point at another build. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

/** Where screenshots go (git-ignored): `test-artifacts/browser/<scenario>-<step>.png` at the repository root. */
export const ARTIFACT_DIR = path.resolve(__dirname, "../../../test-artifacts/browser");

export type BrowserTestMode = { mode: "run" } | { mode: "skip"; reason: string } | { mode: "fail"; reason: string };

/**
 * Run when chromium is there; without it, skip only outside CI (`CI` unset or empty). Under CI a missing
 * browser is a failure.
 */
export function browserTestMode(options: { chromiumPath: string; chromiumExists: boolean; ci: string | undefined }): BrowserTestMode {
  if (options.chromiumExists) return { mode: "run" };
  const install = "install Debian's chromium (apt-get install --no-install-recommends chromium) or set CHROMIUM_PATH";
  if (options.ci === undefined || options.ci === "") {
    return {
      mode: "skip",
      reason: `browser tests skipped: no chromium at ${options.chromiumPath} (${install}; under CI=1 this is a failure)`,
    };
  }
  return {
    mode: "fail",
    reason: `no chromium at ${options.chromiumPath} and CI is set, so the browser tests cannot be skipped: ${install} (.ci/run does)`,
  };
}

export function currentBrowserTestMode(): BrowserTestMode {
  return browserTestMode({ chromiumPath: CHROMIUM_PATH, chromiumExists: existsSync(CHROMIUM_PATH), ci: process.env.CI });
}

/**
 * `describe` or `describe.skip` for a browser test file. On skip, the reason is in the suite's name (shown by
 * jest for skipped suites) and printed once, so a skipped run is never mistaken for a passing one.
 */
export function describeWithBrowser(name: string, body: () => void): void {
  const mode = currentBrowserTestMode();
  if (mode.mode === "skip") {
    console.warn(mode.reason);
    describe.skip(`${name} (${mode.reason})`, body);
    return;
  }
  describe(name, body);
}

/** Launches the browser, or throws the CI failure reason when it is missing. One per test file. */
export async function launchChromium(): Promise<Browser> {
  const mode = currentBrowserTestMode();
  if (mode.mode === "fail") throw new Error(mode.reason);
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ["--no-sandbox"] });
}

/** A desktop window and a phone (iPhone 12-14 CSS size, touch, mobile viewport meta honoured; scale 2 keeps screenshots small). */
export const VIEWPORTS = {
  desktop: { viewport: { width: 1280, height: 800 } },
  phone: { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true },
} as const;

/**
 * What a page reported that a user would never see but a broken page shows: console errors and warnings
 * (CSP violations are console errors: "Refused to apply inline style…", "…violates the following Content
 * Security Policy directive…") and uncaught exceptions.
 *
 * One console error is expected and allowed: Chromium logs "Failed to load resource: the server responded
 * with a status of N" for a top-level document answered with an error status (the wrong-code page is a 400,
 * the rate-limit page a 429). It is tolerated only for the exact URL and status of a main-frame document the
 * browser received; the same message for any sub-resource (a favicon, a style) still counts.
 */
export class PageProblems {
  private readonly documents = new Map<string, Set<number>>();
  private readonly raw: { text: string; url: string; type: string }[] = [];

  watch(page: Page): void {
    page.on("response", (response) => {
      const request = response.request();
      if (request.resourceType() === "document" && request.frame() === page.mainFrame()) {
        const statuses = this.documents.get(response.url()) ?? new Set<number>();
        statuses.add(response.status());
        this.documents.set(response.url(), statuses);
      }
    });
    page.on("console", (message: ConsoleMessage) => {
      if (message.type() === "error" || message.type() === "warning") {
        this.raw.push({ text: message.text(), url: message.location().url, type: message.type() });
      }
    });
    page.on("pageerror", (error) => this.raw.push({ text: `uncaught: ${error.message}`, url: page.url(), type: "pageerror" }));
  }

  /**
   * Every problem except an error-status document's own load message and any about a URL in `ignoreUrls`
   * (exact match); `[]` when the pages were clean.
   */
  list(options: { ignoreUrls?: string[] } = {}): string[] {
    const ignored = new Set(options.ignoreUrls ?? []);
    return this.raw
      .filter((p) => {
        if (ignored.has(p.url)) return false;
        const status = /^Failed to load resource: the server responded with a status of (\d{3})\b/.exec(p.text)?.[1];
        return !(status !== undefined && p.type === "error" && this.documents.get(p.url)?.has(Number(status)));
      })
      .map((p) => `${p.type} at ${p.url}: ${p.text}`);
  }
}

/** A fresh browser profile (no cookies) with its problems watched on every page it opens. */
export async function newWatchedContext(
  browser: Browser,
  viewport: keyof typeof VIEWPORTS,
): Promise<{ context: BrowserContext; problems: PageProblems }> {
  const context = await browser.newContext({ ...VIEWPORTS[viewport] });
  const problems = new PageProblems();
  context.on("page", (page) => problems.watch(page));
  return { context, problems };
}

/** Saves full-page screenshots as `<scenario>-<nn>-<step>.png`, numbered in the order they were taken. */
export class Screenshots {
  private count = 0;
  readonly saved: string[] = [];

  private constructor(private readonly scenario: string) {}

  /** Removes this scenario's screenshots from an earlier run, so the directory shows only this run. */
  static async start(scenario: string): Promise<Screenshots> {
    await mkdir(ARTIFACT_DIR, { recursive: true });
    const stale = (await readdir(ARTIFACT_DIR)).filter((f) => f.startsWith(`${scenario}-`) && f.endsWith(".png"));
    await Promise.all(stale.map((f) => rm(path.join(ARTIFACT_DIR, f), { force: true })));
    return new Screenshots(scenario);
  }

  async take(page: Page, step: string): Promise<string> {
    this.count++;
    const file = path.join(ARTIFACT_DIR, `${this.scenario}-${String(this.count).padStart(2, "0")}-${step}.png`);
    await page.screenshot({ path: file, fullPage: true });
    this.saved.push(file);
    return file;
  }
}

/** True when nothing on the page is wider than the viewport (no sideways scrolling on a phone). */
export async function fitsViewportWidth(page: Page): Promise<boolean> {
  // A string, not a function: this project's tsconfig has no DOM types (the page's globals are not Node's).
  return (await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")) === true;
}

/**
 * The device grant's verification pages in a real headless Chromium (issue 5 §4): what a person does on a
 * laptop or a phone while the device polls. The whole grant runs as in the other device-grant tests
 * (`startGrant`: the real Lambda handler behind the local payload 2.0 server, dynalite, cognito-local as
 * the IdP); the device side is plain `fetch`; the user side is Chromium typing, clicking and signing in at
 * cognito-local's own login form.
 *
 * Every page visited is saved as a full-page screenshot under `test-artifacts/browser/` (see
 * support/chromium.ts), and every page is watched for console errors, CSP violations and uncaught
 * exceptions: the pages carry a strict CSP (`default-src 'none'`, one hashed stylesheet), so a style or
 * form target the policy forgets shows up here and nowhere else.
 *
 * One browser for the file, one fresh profile (context) per scenario.
 */
import { type Browser, type BrowserContext, type Page } from "playwright-core";
import {
  type DeviceAuthorization,
  type GrantHarness,
  PASSWORD,
  pollToken,
  postForm,
  SCOPES,
  startGrant,
} from "../device-grant/support/grant";
import {
  describeWithBrowser,
  fitsViewportWidth,
  launchChromium,
  newWatchedContext,
  type PageProblems,
  Screenshots,
} from "./support/chromium";

jest.setTimeout(60_000);

/**
 * Code entries and Approve/Deny answers an address may send before the rate-limit page (the service default is
 * 10; a completed sign-in gives its own back). Five: the most any other scenario here spends is four.
 */
const MAX_FAILED_ENTRIES_PER_IP = 5;
const DEVICE_USER_AGENT = "AcmeThermostat/2.4.1 (firmware 7; +https://example.com/device)";

describeWithBrowser("verification pages in headless Chromium", () => {
  let browser: Browser;
  let grant: GrantHarness;

  beforeAll(async () => {
    // Sequential on purpose: a failing launch must not leave the grant's services running, and vice versa.
    grant = await startGrant({ settings: { maxFailedEntriesPerIp: MAX_FAILED_ENTRIES_PER_IP } });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await grant?.stop();
  });

  // Each scenario's browser at its own address: the per-address budget is one scenario's subject only.
  let address = 0;
  beforeEach(() => {
    grant.sourceIp.value = `192.0.2.${++address}`;
  });

  /** The device asks for a code from `deviceIp`, with its own User-Agent, as firmware would with fetch. */
  async function startDevice(deviceIp: string): Promise<DeviceAuthorization> {
    const browserIp = grant.sourceIp.value;
    grant.sourceIp.value = deviceIp;
    try {
      const answer = await postForm(
        `${grant.url}/oauth2/device_authorization`,
        { client_id: grant.publicClient.clientId },
        { headers: { "user-agent": DEVICE_USER_AGENT } },
      );
      expect(answer.status).toBe(200);
      return answer.body as unknown as DeviceAuthorization;
    } finally {
      grant.sourceIp.value = browserIp;
    }
  }

  /** The device's next poll, one interval later on the service's clock (no slow_down). */
  async function poll(authorization: DeviceAuthorization): Promise<{ status: number; body: Record<string, unknown> }> {
    grant.clock.advance(authorization.interval + 1);
    const answer = await pollToken(grant, authorization.device_code);
    return { status: answer.status, body: answer.body };
  }

  async function requestStatus(authorization: DeviceAuthorization): Promise<string | undefined> {
    return (await grant.store.getByUserCode(authorization.user_code.replace(/-/g, "")))?.status;
  }

  /** What a person types from the device's screen: lower case, with a dash every four characters. */
  function typedByHand(userCode: string): string {
    return userCode
      .replace(/[-\s]/g, "")
      .toLowerCase()
      .replace(/(.{4})(?=.)/g, "$1-");
  }

  /** Runs `action` (a click) and waits for the navigation it starts; the final document's HTTP status. */
  async function navigation(page: Page, action: () => Promise<void>): Promise<number> {
    const [response] = await Promise.all([page.waitForNavigation(), action()]);
    return response?.status() ?? 0;
  }

  /** On the code form: clears the field, types `typed` key by key, presses Continue. */
  async function typeCode(page: Page, typed: string): Promise<number> {
    const field = page.locator("#user_code");
    await field.fill("");
    await field.pressSequentially(typed);
    return navigation(page, () => page.getByRole("button", { name: "Continue" }).click());
  }

  /** Opens the code form and types the code: the confirmation page (or whatever the service answers). */
  async function enterCode(page: Page, typed: string): Promise<number> {
    const response = await page.goto(`${grant.url}/device`);
    expect(response?.status()).toBe(200);
    return typeCode(page, typed);
  }

  async function heading(page: Page): Promise<string> {
    return ((await page.locator("h1").textContent()) ?? "").trim();
  }

  /** The confirmation page's details list as `{ Application: …, "Device address": …, … }`. */
  async function details(page: Page): Promise<Record<string, string>> {
    const terms = await page.locator("dt").allTextContents();
    const values = await page.locator("dd").allTextContents();
    return Object.fromEntries(terms.map((t, i) => [t, values[i]]));
  }

  async function signInAtCognito(page: Page): Promise<number> {
    expect(new URL(page.url()).origin).toBe(new URL(grant.config.upstream.authorizationEndpoint).origin);
    await page.locator('input[name="username"]').fill(grant.username);
    await page.locator('input[name="password"]').fill(PASSWORD);
    return navigation(page, () => page.getByRole("button", { name: "Sign in" }).click());
  }

  async function closeClean(context: BrowserContext, problems: PageProblems): Promise<void> {
    await context.close();
    // cognito-local's login page has no favicon; Chromium asks for one anyway, and whether it does before the
    // context closes varies. That 404 is the stand-in IdP's, not the device grant's, so only it is let through.
    const idpFavicon = new URL("/favicon.ico", grant.config.upstream.authorizationEndpoint).href;
    expect(problems.list({ ignoreUrls: [idpFavicon] })).toEqual([]);
  }

  test("enter the code by hand, check the confirmation, sign in, approve: the device's next poll gets tokens", async () => {
    const shots = await Screenshots.start("approve");
    const authorization = await startDevice("198.51.100.23");
    expect(authorization.user_code).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
    const { context, problems } = await newWatchedContext(browser, "desktop");
    const page = await context.newPage();

    await page.goto(`${grant.url}/device`);
    expect(await heading(page)).toBe("Connect a device");
    await shots.take(page, "code-form");
    await page.locator("#user_code").pressSequentially(typedByHand(authorization.user_code));
    await shots.take(page, "code-typed");
    expect(await navigation(page, () => page.getByRole("button", { name: "Continue" }).click())).toBe(200);

    expect(await heading(page)).toBe("Allow this device?");
    await shots.take(page, "confirm");
    expect(await page.locator(".code").textContent()).toBe(authorization.user_code);
    // The client's registered name is `Living-room <TV> & "Co"`: rendered as text, not markup.
    expect(await details(page)).toMatchObject({
      Application: 'Living-room <TV> & "Co"',
      "Device address": "198.51.100.23",
      // What the device claims to run: the User-Agent's first product, no comment, no URL (issue 10 §2.9).
      "Device says it runs": "AcmeThermostat/2.4.1",
      "Expires in": "30 minutes",
    });
    expect(await page.locator("ul > li").allTextContents()).toEqual(SCOPES);
    // The one inline stylesheet is allowed by its hash in the CSP: a hash that no longer matches would leave
    // the page unstyled (and log a violation), so the primary button's colour shows the browser applied it.
    expect(await page.evaluate("getComputedStyle(document.querySelector('button.primary')).backgroundColor")).toBe("rgb(11, 95, 255)");
    // Seeing the request decides nothing.
    expect((await poll(authorization)).body.error).toBe("authorization_pending");

    expect(await navigation(page, () => page.getByRole("button", { name: "Approve" }).click())).toBe(200);
    await shots.take(page, "idp-login");
    expect(await signInAtCognito(page)).toBe(200);
    expect(new URL(page.url()).pathname).toBe("/callback");
    expect(await heading(page)).toBe("Device connected");
    await shots.take(page, "callback");

    const tokens = await poll(authorization);
    expect(tokens.status).toBe(200);
    expect(tokens.body).toMatchObject({ token_type: "Bearer", access_token: expect.any(String) });
    expect(grant.upstreamCalls.exchanges).toBeGreaterThanOrEqual(1);
    await closeClean(context, problems);
    expect(shots.saved).toHaveLength(5);
  });

  test("deny on a phone: the device's next poll is access_denied, and the other open confirmation cannot approve it any more", async () => {
    const shots = await Screenshots.start("deny");
    const authorization = await startDevice("198.51.100.24");
    const { context, problems } = await newWatchedContext(browser, "phone");
    const page = await context.newPage();
    const other = await context.newPage();

    expect(await enterCode(page, typedByHand(authorization.user_code))).toBe(200);
    expect(await heading(page)).toBe("Allow this device?");
    expect(await fitsViewportWidth(page)).toBe(true);
    // Both buttons are on screen at phone width, not pushed off to the side.
    for (const name of ["Approve", "Deny"]) {
      const box = await page.getByRole("button", { name }).boundingBox();
      expect(box).not.toBeNull();
      expect((box?.x ?? 0) + (box?.width ?? 0)).toBeLessThanOrEqual(390);
    }
    await shots.take(page, "confirm");
    // The same request opened a second time (another tab), before the decision.
    expect(await enterCode(other, authorization.user_code)).toBe(200);

    expect(await navigation(page, () => page.getByRole("button", { name: "Deny" }).tap())).toBe(200);
    expect(await heading(page)).toBe("Request denied");
    expect(await fitsViewportWidth(page)).toBe(true);
    await shots.take(page, "denied");
    const answer = await poll(authorization);
    expect([answer.status, answer.body.error]).toEqual([400, "access_denied"]);

    // The stale confirmation's Approve: refused with the page that says why.
    expect(await navigation(other, () => other.getByRole("button", { name: "Approve" }).tap())).toBe(400);
    expect(await heading(other)).toBe("This request was denied");
    expect(await fitsViewportWidth(other)).toBe(true);
    await shots.take(other, "approve-after-deny");
    expect(await requestStatus(authorization)).toBe("denied");
    await closeClean(context, problems);
  });

  test(`wrong codes show the error on the form; after ${MAX_FAILED_ENTRIES_PER_IP} the rate-limit page, even for a right code`, async () => {
    const shots = await Screenshots.start("wrong-code");
    const authorization = await startDevice("198.51.100.25");
    const { context, problems } = await newWatchedContext(browser, "desktop");
    const page = await context.newPage();
    grant.sourceIp.value = "203.0.113.50"; // this browser's own address, whose budget this scenario spends
    try {
      await page.goto(`${grant.url}/device`);
      for (let attempt = 1; attempt <= MAX_FAILED_ENTRIES_PER_IP; attempt++) {
        const typed = `bcdf-${String(attempt).padStart(4, "0")}`; // digits: never a real code
        expect(await typeCode(page, typed)).toBe(400);
        expect(await heading(page)).toBe("Connect a device");
        expect(await page.locator("#code-error").textContent()).toContain("That code was not found");
        expect(await page.locator("#user_code").inputValue()).toBe(typed);
        await shots.take(page, `wrong-${attempt}`);
      }
      expect(await typeCode(page, "bcdf-9999")).toBe(429);
      expect(await heading(page)).toBe("Too many attempts");
      await shots.take(page, "rate-limited");
      await page.goto(`${grant.url}/device`);
      expect(await typeCode(page, typedByHand(authorization.user_code))).toBe(429);
      expect(await heading(page)).toBe("Too many attempts");
      await shots.take(page, "rate-limited-right-code");
      expect(await requestStatus(authorization)).toBe("pending");
    } finally {
      grant.sourceIp.value = undefined;
    }
    await closeClean(context, problems);
  });

  test("replayed forms: another browser's copy, a second submission after approval and a reloaded callback each get their error page", async () => {
    const shots = await Screenshots.start("replay");
    const authorization = await startDevice("198.51.100.26");
    const { context, problems } = await newWatchedContext(browser, "desktop");
    const page = await context.newPage();
    const second = await context.newPage();
    expect(await enterCode(page, typedByHand(authorization.user_code))).toBe(200);
    expect(await enterCode(second, authorization.user_code)).toBe(200);
    await shots.take(second, "confirm-second-tab");

    // The confirmation form's fields replayed from another browser (no cookie of ours), as a forged page would.
    const fields = await page
      .locator('form input[type="hidden"]')
      .evaluateAll((inputs) => inputs.map((input) => [input.getAttribute("name") ?? "", input.getAttribute("value") ?? ""]));
    expect(fields.map(([name]) => name).sort()).toEqual(["csrf", "issued", "user_code"]);
    const attacker = await newWatchedContext(browser, "desktop");
    const forged = await attacker.context.newPage();
    const hidden = fields.map(([name, value]) => `<input type="hidden" name="${name}" value="${value}">`).join("");
    await forged.setContent(
      `<form method="post" action="${grant.url}/device">${hidden}<button name="action" value="approve">Approve</button></form>`,
    );
    expect(await navigation(forged, () => forged.getByRole("button", { name: "Approve" }).click())).toBe(403);
    expect(await heading(forged)).toBe("This form has expired");
    await shots.take(forged, "other-browser");
    await closeClean(attacker.context, attacker.problems);
    expect(await requestStatus(authorization)).toBe("pending");

    expect(await navigation(page, () => page.getByRole("button", { name: "Approve" }).click())).toBe(200);
    expect(await signInAtCognito(page)).toBe(200);
    expect(await heading(page)).toBe("Device connected");
    expect((await poll(authorization)).status).toBe(200);

    // The same confirmation form, still open in the second tab, submitted after it was used.
    expect(await navigation(second, () => second.getByRole("button", { name: "Approve" }).click())).toBe(400);
    expect(await heading(second)).toBe("This code was already used");
    await shots.take(second, "approve-again");
    // The IdP's answer replayed: the callback reloaded.
    expect((await page.reload())?.status()).toBe(400);
    expect(await heading(page)).toBe("This code was already used");
    await shots.take(page, "callback-reloaded");
    expect(grant.upstreamCalls.exchanges).toBeGreaterThanOrEqual(1);
    expect(await requestStatus(authorization)).toBe("redeemed");
    await closeClean(context, problems);
  });

  test("verification_uri_complete opens the form pre-filled on a phone and approves nothing by itself", async () => {
    const shots = await Screenshots.start("prefilled");
    const authorization = await startDevice("198.51.100.27");
    const { context, problems } = await newWatchedContext(browser, "phone");
    const page = await context.newPage();

    expect((await page.goto(authorization.verification_uri_complete))?.status()).toBe(200);
    expect(await heading(page)).toBe("Connect a device");
    expect(await page.locator("#user_code").inputValue()).toBe(authorization.user_code);
    expect(await fitsViewportWidth(page)).toBe(true);
    await shots.take(page, "code-form");
    expect(await requestStatus(authorization)).toBe("pending");
    expect((await poll(authorization)).body.error).toBe("authorization_pending");

    expect(await navigation(page, () => page.getByRole("button", { name: "Continue" }).tap())).toBe(200);
    expect(await heading(page)).toBe("Allow this device?");
    expect(await page.locator(".code").textContent()).toBe(authorization.user_code);
    expect(await fitsViewportWidth(page)).toBe(true);
    await shots.take(page, "confirm");
    expect(await requestStatus(authorization)).toBe("pending");
    expect((await poll(authorization)).body.error).toBe("authorization_pending");
    await closeClean(context, problems);
  });

  test("the problem watcher sees CSP violations, failed sub-resources and script errors (so a clean page means clean)", async () => {
    const { context, problems } = await newWatchedContext(browser, "desktop");
    const origin = "http://watcher.test";
    await context.route(`${origin}/**`, (route) => {
      const url = new URL(route.request().url());
      if (url.pathname === "/error-status") {
        return route.fulfill({
          status: 400,
          contentType: "text/html",
          headers: { "content-security-policy": "default-src 'none'" },
          body: "<h1>Bad request</h1>",
        });
      }
      if (url.pathname === "/missing.png") return route.fulfill({ status: 404, body: "" });
      return route.fulfill({
        status: 200,
        contentType: "text/html",
        headers: { "content-security-policy": "default-src 'none'; img-src 'self'; script-src 'unsafe-inline'" },
        body: '<style>h1{color:red}</style><h1>Broken</h1><img src="/missing.png" alt=""><script>null.boom()</script>',
      });
    });
    const page = await context.newPage();
    expect((await page.goto(`${origin}/error-status`))?.status()).toBe(400);
    await page.goto(`${origin}/broken`);
    await context.close();
    const found = problems.list();
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/Content Security Policy/),
        expect.stringMatching(/status of 404/),
        expect.stringMatching(/uncaught: .*null/),
      ]),
    );
    // An error-status document's own load message is the one thing tolerated.
    expect(found.filter((p) => p.includes("/error-status"))).toEqual([]);
  });
});

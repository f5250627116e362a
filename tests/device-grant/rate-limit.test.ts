/**
 * The per-address limit under concurrency (RFC 8628 §5.1, issue 10 §2.1) and what must never count against
 * anyone (§2.2), through the real handler on dynalite: many simultaneous requests from one address, and the
 * store's requests counted by the chain's own DynamoDB client (`watchStore`). An evaluation is a request
 * that reads or writes a request item (`USER#…`): a chance to hit a live code.
 */
import { browserCookieName, csrfToken, decisionPurpose } from "../../functions/device-grant/browser-binding";
import { parseForms, ScriptedUser, visibleText } from "../../sandbox/scripted-user";
import {
  approve,
  approveAsUser,
  authorizeDevice,
  type GrantHarness,
  openConfirmation,
  PASSWORD,
  startGrant,
  storedRequest,
  watchStore,
} from "./support/grant";

jest.setTimeout(120_000);

const LIMIT = 10;

let grant: GrantHarness;
beforeAll(async () => {
  grant = await startGrant({ settings: { maxFailedEntriesPerIp: LIMIT, maxFailedAttemptsPerCode: 3 } });
});
afterAll(async () => {
  await grant?.stop();
});
let address = 0;
beforeEach(() => {
  grant.clock.offsetMs = 0;
  grant.sourceIp.value = `198.51.100.${++address}`;
});

/** Digits never occur in the default user codes: these codes cannot exist. */
const wrongCode = (i: number) => `BCDF${String(i).padStart(4, "0")}`;

function statuses(pages: { status: number }[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const p of pages) counts[p.status] = (counts[p.status] ?? 0) + 1;
  return counts;
}

test("200 simultaneous wrong codes from one address: no more than the limit are evaluated", async () => {
  const user = new ScriptedUser();
  const form = await user.get(`${grant.url}/device`);
  const watch = watchStore(grant);
  const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => user.submit(form, { user_code: wrongCode(i) })));
  watch.stop();
  expect(watch.evaluations()).toBeLessThanOrEqual(LIMIT);
  expect(statuses(answers)).toEqual({ 400: watch.evaluations(), 429: 200 - watch.evaluations() });
  // Even the right code is refused from this address now, without being looked up; another address is not.
  const authorization = await authorizeDevice(grant);
  const after = watchStore(grant);
  expect((await user.submit(form, { user_code: authorization.user_code })).status).toBe(429);
  after.stop();
  expect(after.evaluations()).toBe(0);
  grant.sourceIp.value = "203.0.113.200";
  expect((await user.submit(form, { user_code: authorization.user_code })).status).toBe(200);
});

test("200 simultaneous Approve/Deny for wrong codes, with good CSRF tokens: no more than the limit are evaluated", async () => {
  const user = new ScriptedUser();
  await user.get(`${grant.url}/device`);
  const cookie = user.cookies.get(grant.url, browserCookieName(grant.url)) as string;
  const issued = Math.floor(Date.now() / 1000);
  const watch = watchStore(grant);
  const answers = await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      user.postForm(`${grant.url}/device`, {
        action: i % 2 === 0 ? "approve" : "deny",
        user_code: wrongCode(i),
        issued: String(issued),
        // What an attacker's own browser can compute for any code: its cookie's HMAC over the purpose.
        csrf: csrfToken(cookie, decisionPurpose(wrongCode(i), issued)),
      }),
    ),
  );
  watch.stop();
  // Each decision that got past the limit is one conditional write on its request (here refused: there is no
  // such request), followed on dynalite by the read that explains a refusal (DynamoDB returns the item instead).
  const decisions = watch.count("UpdateItem USER#");
  expect(decisions).toBeLessThanOrEqual(LIMIT);
  expect(watch.count("GetItem USER#")).toBe(decisions);
  expect(statuses(answers)).toEqual({ 400: decisions, 429: 200 - decisions });
});

test("a completed sign-in costs its address nothing; wrong codes, abandoned approvals and denials do", async () => {
  // Twice the limit of people sign in from one address (one NAT), one after another.
  for (let i = 0; i < 2 * LIMIT; i++) {
    const done = await approveAsUser(grant, await authorizeDevice(grant));
    expect(done.status).toBe(200);
  }
  // Then the budget is spent by what does not end in a sign-in: an entry and a Deny cost one each.
  const user = new ScriptedUser();
  for (let i = 0; i < LIMIT / 2; i++) {
    const confirmation = await openConfirmation(user, await authorizeDevice(grant));
    expect((await user.submit(confirmation, {}, { submitter: "deny" })).status).toBe(200);
  }
  const form = await user.get(`${grant.url}/device`);
  expect((await user.submit(form, { user_code: wrongCode(1) })).status).toBe(429);
});

test("forged forms never count: 10 against a live code, from the owner's own address, and its owner still approves", async () => {
  const authorization = await authorizeDevice(grant);
  const owner = new ScriptedUser();
  const confirmation = await openConfirmation(owner, authorization);
  const attacker = new ScriptedUser();
  const attackerView = await openConfirmation(attacker, authorization);
  const fields = Object.fromEntries(parseForms(attackerView.body, attackerView.url)[0].fields);
  const watch = watchStore(grant);
  const forged = [];
  for (let i = 0; i < 10; i++) {
    // A bad token in the attacker's browser; the owner's form replayed without its cookie; a cross-site POST.
    forged.push(
      await attacker.submit(attackerView, { csrf: `forged-${i}` }, { submitter: i % 2 ? "deny" : "approve", follow: () => false }),
    );
    forged.push(await new ScriptedUser().submit(confirmation, {}, { submitter: "approve", follow: () => false }));
    forged.push(await attacker.postForm(`${grant.url}/device`, { ...fields, action: "cancel", csrf: `x${i}` }));
    forged.push(await attacker.postForm(`${grant.url}/device`, { action: "enter", user_code: authorization.user_code, csrf: `y${i}` }));
  }
  watch.stop();
  expect(forged.every((page) => page.status === 403)).toBe(true);
  // Refused before anything was charged or looked up.
  expect(watch.requests).toEqual([]);
  expect(await storedRequest(grant, authorization.device_code)).toMatchObject({ status: "pending", approvals: 0 });
  const idpUrl = await approve(owner, confirmation);
  const done = await owner.get(await owner.signInAtCognito(idpUrl, grant.username, PASSWORD));
  expect([done.status, visibleText(done.body)]).toEqual([200, expect.stringContaining("Device connected")]);
});

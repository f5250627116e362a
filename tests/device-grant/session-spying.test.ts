/**
 * Session spying (RFC 8628 §5.5, issue 10 §2.3) with two scripted browsers: Alice, whose device shows the
 * code, and Mallory, who saw it too. Once Alice has pressed Approve and is signing in at the IdP, Mallory can
 * neither approve (which would bind her account to Alice's device) nor deny until Alice's approval lock runs
 * out or Alice cancels; she gets a page saying so, and Alice's sign-in completes.
 */
import { ScriptedUser, visibleText } from "../../sandbox/scripted-user";
import {
  approve,
  authorizeDevice,
  type GrantHarness,
  openConfirmation,
  PASSWORD,
  pollToken,
  startGrant,
  storedRequest,
} from "./support/grant";

jest.setTimeout(60_000);

let grant: GrantHarness;
beforeAll(async () => {
  grant = await startGrant();
});
afterAll(async () => {
  await grant?.stop();
});
let address = 0;
beforeEach(() => {
  grant.clock.offsetMs = 0;
  // Each scenario at its own address: what it spends of the per-address budget is not the subject here.
  grant.sourceIp.value = `192.0.2.${++address}`;
});

const noFollow = { follow: () => false };
const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString("utf8")) as Record<string, unknown>;

test("a second browser cannot take over an approval under way; the first one's sign-in completes", async () => {
  const authorization = await authorizeDevice(grant);
  const alice = new ScriptedUser();
  const mallory = new ScriptedUser();
  // Both are on the confirmation page before Alice decides.
  const aliceConfirmation = await openConfirmation(alice, authorization);
  const malloryConfirmation = await openConfirmation(mallory, authorization);
  const aliceIdp = await approve(alice, aliceConfirmation);

  for (const submitter of ["approve", "deny"]) {
    const refused = await mallory.submit(malloryConfirmation, {}, { submitter, ...noFollow });
    expect(refused.status).toBe(409);
    expect(visibleText(refused.body)).toContain("Someone is already approving this device");
    expect(visibleText(refused.body)).toContain("start again on your device");
  }
  // Looking the code up again says the same, with no Approve button to press.
  const lookedUp = await openConfirmation(mallory, authorization);
  expect([lookedUp.status, visibleText(lookedUp.body)]).toEqual([409, expect.stringContaining("Someone is already approving this device")]);
  expect(lookedUp.body).not.toContain('value="approve"');

  const done = await alice.get(await alice.signInAtCognito(aliceIdp, grant.username, PASSWORD));
  expect([done.status, visibleText(done.body)]).toEqual([200, expect.stringContaining("Device connected")]);
  grant.clock.advance(authorization.interval);
  const tokens = await pollToken(grant, authorization.device_code);
  expect(tokens.status).toBe(200);
  expect(claimsOf(tokens.body.access_token as string).sub).toBe(grant.userSub);
});

test("the lock holder may restart its sign-in or cancel; after a cancel, another browser may approve", async () => {
  const authorization = await authorizeDevice(grant);
  const alice = new ScriptedUser();
  const bob = new ScriptedUser();
  const first = await approve(alice, await openConfirmation(alice, authorization));
  // Alice abandons the IdP's login and comes back: her confirmation says she started approving, and offers Cancel.
  const again = await openConfirmation(alice, authorization);
  expect(visibleText(again.body)).toContain("You started approving this device in this browser");
  const second = await approve(alice, again);
  expect(new URL(second).searchParams.get("state")).not.toBe(new URL(first).searchParams.get("state"));
  // The abandoned attempt's state is dead: only the latest one can finish.
  const stale = await alice.get(await alice.signInAtCognito(first, grant.username, PASSWORD));
  expect(visibleText(stale.body)).toContain("could not be matched");

  const cancelled = await alice.submit(await openConfirmation(alice, authorization), {}, { submitter: "cancel" });
  expect([cancelled.status, visibleText(cancelled.body)]).toEqual([200, expect.stringContaining("Approval cancelled")]);
  expect(await storedRequest(grant, authorization.device_code)).toMatchObject({ status: "pending" });
  // Bob (the rightful user, say) approves now, and finishes.
  const bobIdp = await approve(bob, await openConfirmation(bob, authorization));
  const done = await bob.get(await bob.signInAtCognito(bobIdp, grant.username, PASSWORD));
  expect(done.status).toBe(200);
  // Alice's cancelled attempt cannot come back.
  expect(visibleText((await alice.get(await alice.signInAtCognito(second, grant.username, PASSWORD))).body)).toContain(
    "could not be matched",
  );
});

test("the lock runs out after approvalLockSeconds: then another browser may approve, and the first one's state is dead", async () => {
  const authorization = await authorizeDevice(grant);
  const alice = new ScriptedUser();
  const mallory = new ScriptedUser();
  const aliceIdp = await approve(alice, await openConfirmation(alice, authorization));
  grant.clock.advance(grant.config.settings.approvalLockSeconds - 2);
  expect((await openConfirmation(mallory, authorization)).status).toBe(409);
  grant.clock.advance(2);
  const malloryIdp = await approve(mallory, await openConfirmation(mallory, authorization));
  expect(new URL(malloryIdp).searchParams.get("state")).toBeTruthy();
  const late = await alice.get(await alice.signInAtCognito(aliceIdp, grant.username, PASSWORD));
  expect(visibleText(late.body)).toContain("could not be matched");
  expect(await storedRequest(grant, authorization.device_code)).toMatchObject({ status: "approving", approvals: 2 });
});

/**
 * Races against real DynamoDB semantics (dynalite): the conditional writes must let exactly one of many
 * concurrent actors win, however the requests interleave.
 */
import { ScriptedUser, visibleText } from "../../sandbox/scripted-user";
import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import {
  approveAsUser,
  authorizeDevice,
  type GrantHarness,
  openConfirmation,
  PASSWORD,
  pollToken,
  startGrant,
  storedRequest,
} from "./support/grant";

jest.setTimeout(120_000);

let grant: GrantHarness;
beforeAll(async () => {
  // Every browser here is at 127.0.0.1, as if all were behind one NAT: the per-address budget is
  // rate-limit.test.ts's subject, not this file's.
  grant = await startGrant({ settings: { maxFailedEntriesPerIp: 10_000 } });
});
afterAll(async () => {
  await grant?.stop();
});

test("50 simultaneous polls after approval yield exactly one token response", async () => {
  for (const client of [grant.publicClient, grant.confidentialClient]) {
    const authorization = await authorizeDevice(grant, client);
    expect((await approveAsUser(grant, authorization)).status).toBe(200);
    const exchangesBefore = grant.upstreamCalls.exchanges;
    const answers = await Promise.all(Array.from({ length: 50 }, () => pollToken(grant, authorization.device_code, client)));
    const winners = answers.filter((a) => a.status === 200);
    expect(winners).toHaveLength(1);
    expect(typeof winners[0].body.access_token).toBe("string");
    const losers = answers.filter((a) => a.status !== 200);
    expect(losers).toHaveLength(49);
    for (const loser of losers) {
      expect(loser.status).toBe(400);
      expect(loser.body.access_token).toBeUndefined();
      expect(["invalid_grant", "slow_down"]).toContain(loser.body.error);
    }
    expect((await storedRequest(grant, authorization.device_code))?.status).toBe("redeemed");
    // The upstream code and the PKCE verifier left the table with the redemption.
    const { Item } = await grant.dynamo.client.send(
      new GetItemCommand({ TableName: grant.config.tableName, Key: { pk: { S: `USER#${authorization.user_code.replace("-", "")}` } } }),
    );
    expect(Object.keys(Item ?? {})).not.toContain("authorizationCode");
    expect(Object.keys(Item ?? {})).not.toContain("pkceVerifier");
    expect(JSON.stringify(Item)).not.toMatch(/verifier|"code"/i);
    // One exchange reached the IdP: the conditional write stopped the other 49 before it (cognito-local's
    // single-use codes alone would also leave one winner, so this is what shows the service's own guard).
    expect(grant.upstreamCalls.exchanges - exchangesBefore).toBe(1);
  }
});

test("simultaneous Approve and Deny from two browsers leave exactly one outcome", async () => {
  const outcomes = { approved: 0, denied: 0 };
  for (let round = 0; round < 10; round++) {
    const authorization = await authorizeDevice(grant);
    const alice = new ScriptedUser();
    const bob = new ScriptedUser();
    const [aliceConfirmation, bobConfirmation] = await Promise.all([
      openConfirmation(alice, authorization),
      openConfirmation(bob, authorization),
    ]);
    const [approval, denial] = await Promise.all([
      alice.submit(aliceConfirmation, {}, { submitter: "approve", follow: () => false }),
      bob.submit(bobConfirmation, {}, { submitter: "deny" }),
    ]);
    const approveWon = approval.status === 303;
    const denyWon = denial.status === 200 && visibleText(denial.body).includes("You denied the request");
    expect(approveWon !== denyWon).toBe(true);
    // Approve took the approval lock, so the Deny is told someone is approving (409); or Deny won, and the
    // Approve is told the request was denied.
    const loser = approveWon ? denial : approval;
    expect(loser.status).toBe(approveWon ? 409 : 400);
    expect(visibleText(loser.body)).toContain(approveWon ? "Someone is already approving this device" : "This request was denied");
    const stored = await storedRequest(grant, authorization.device_code);
    expect(stored?.status).toBe(approveWon ? "approving" : "denied");
    outcomes[approveWon ? "approved" : "denied"]++;
  }
  expect(outcomes.approved + outcomes.denied).toBe(10);
});

test("with the device polling as fast as it can, 30 of 30 approvals and 30 of 30 callbacks succeed", async () => {
  let approvals = 0;
  let callbacks = 0;
  for (let round = 0; round < 30; round++) {
    const authorization = await authorizeDevice(grant);
    let polling = true;
    // Sixteen polls in flight at every moment, back to back (before the fix, this made 30 of 30 approvals fail).
    const device = Array.from({ length: 16 }, async () => {
      while (polling) await pollToken(grant, authorization.device_code);
    });
    try {
      const user = new ScriptedUser();
      const answer = await user.submit(await openConfirmation(user, authorization), {}, { submitter: "approve", follow: () => false });
      if (answer.status !== 303) continue;
      approvals++;
      const callback = await user.get(await user.signInAtCognito(answer.chain.at(-1)?.location as string, grant.username, PASSWORD));
      if (callback.status === 200) callbacks++;
    } finally {
      polling = false;
      await Promise.all(device);
    }
  }
  expect({ approvals, callbacks }).toEqual({ approvals: 30, callbacks: 30 });
});

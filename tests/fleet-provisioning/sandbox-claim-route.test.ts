/**
 * The sandbox's claim route end to end: the local JWT authorizer (API Gateway's checks on the user pool's
 * tokens: audience, scope) in front of the real claim function on the local control plane and the binding table
 * in dynalite. Tokens come from the device flow (openid-client) approved at the sandbox's IdP, by an installer
 * and by a user outside the installers' group. Also what the control plane does with a claim's life: a claim
 * whose five minutes (two seconds here) are over cannot connect at all.
 */
import { apiCaller } from "../../sandbox/cognito-api";
import { type Sandbox } from "../../sandbox/sandbox";
import { connectionOutcome, deviceFlowToken, requestClaim, startFleetSandbox, until } from "./sandbox-support";

let sandbox: Sandbox;
let logs: string[];
let installerToken: string;

beforeAll(async () => {
  // Claims live two seconds here (TEST ONLY), so that one can expire within the test.
  ({ sandbox, logs } = await startFleetSandbox({ provisioning: { claimLifetimeMs: 2_000 } }));
  installerToken = await deviceFlowToken(sandbox, sandbox.provisioning?.installerClientId as string, sandbox.user);
});
afterAll(() => sandbox?.stop());

test("an installer's token gets a claim: 201, the key never cached, the binding recorded", async () => {
  const answer = await requestClaim(sandbox, installerToken, "CD-000001");
  expect(answer.status).toBe(201);
  expect(answer.headers.get("cache-control")).toBe("no-store");
  expect(answer.body).toMatchObject({
    thingName: "CD-000001",
    templateName: sandbox.provisioning?.templateName,
    expiresIn: expect.any(Number),
  });
  expect(logs.some((l) => l.includes('"outcome":"issued"') && l.includes(answer.body.certificateId as string))).toBe(true);
});

test("no token, another app's token or a token without the provisioning scope is refused before the function", async () => {
  const none = await requestClaim(sandbox, undefined, "CD-000002");
  expect({ status: none.status, body: none.body }).toEqual({ status: 401, body: { message: "Unauthorized" } });

  const tvToken = await deviceFlowToken(sandbox, sandbox.clientId, sandbox.user);
  const tv = await requestClaim(sandbox, tvToken, "CD-000002");
  expect(tv.status).toBe(401);
  expect(tv.headers.get("www-authenticate")).toMatch(/error="invalid_token" error_description="the token does not have a valid audience"/);

  const openidOnly = await deviceFlowToken(sandbox, sandbox.provisioning?.installerClientId as string, sandbox.user, "openid");
  const unscoped = await requestClaim(sandbox, openidOnly, "CD-000002");
  expect({ status: unscoped.status, body: unscoped.body }).toEqual({ status: 403, body: { message: "Forbidden" } });
  expect(unscoped.headers.get("www-authenticate")).toMatch(/scope="iot\/provision" error="insufficient_scope"/);
});

test("a user outside the installers' group is refused by the function (403 access_denied); a bad name is 400", async () => {
  const cognito = apiCaller(sandbox.cognitoUrl);
  const poolId = sandbox.poolId;
  const outsider = { username: "outsider", password: "Outsider-password-1" };
  await cognito("AdminCreateUser", { UserPoolId: poolId, Username: outsider.username, MessageAction: "SUPPRESS" });
  await cognito("AdminSetUserPassword", { UserPoolId: poolId, Username: outsider.username, Password: outsider.password, Permanent: true });
  const token = await deviceFlowToken(sandbox, sandbox.provisioning?.installerClientId as string, outsider);
  const refused = await requestClaim(sandbox, token, "CD-000003");
  expect({ status: refused.status, error: refused.body.error }).toEqual({ status: 403, error: "access_denied" });

  const badName = await requestClaim(sandbox, installerToken, "not a serial");
  expect({ status: badName.status, error: badName.body.error }).toEqual({ status: 400, error: "invalid_request" });
});

test("an expired claim cannot connect: refused in the TLS handshake, with the reason in the gateway's log", async () => {
  const claim = await requestClaim(sandbox, installerToken, "CD-000004");
  expect(claim.status).toBe(201);
  const credentials = { certificatePem: claim.body.certificatePem as string, privateKey: claim.body.privateKey as string };
  expect(await connectionOutcome(sandbox, credentials, "CD-000004")).toBe("connected");
  const expiresAt = Date.parse(claim.body.expiresAt as string);
  await until(() => Date.now() > expiresAt + 1_000);
  expect(await connectionOutcome(sandbox, credentials, "CD-000004")).toBe("closed");
  await until(() => logs.some((l) => l.includes('"reason":"tls-refused"') && l.includes("CERT_HAS_EXPIRED")));
});

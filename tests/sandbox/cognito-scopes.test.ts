/**
 * The cognito-local harness grants access token scopes as Amazon Cognito does (sandbox/cognito-scopes.ts): the
 * scopes asked for at `/oauth2/authorize` that the app client allows, all of them when none were asked for, and
 * the grant's scopes again on refresh. Signed in through the hosted login form by a scripted user, exchanged
 * at the real token endpoint, many sign-ins at once each getting their own grant.
 */
import { type AppClient, type CognitoLocal, pkceS256, startCognito } from "../../sandbox/cognito-local";
import { grantedScopes } from "../../sandbox/cognito-scopes";
import { ScriptedUser } from "../../sandbox/scripted-user";

const CALLBACK = "https://installer.example.test/callback";
const PASSWORD = "Correct-horse-battery-9";
const ALLOWED = ["openid", "iot/provision", "iot/device"];

let idp: CognitoLocal;
let poolId: string;
let client: AppClient;

beforeAll(async () => {
  idp = await startCognito();
  poolId = await idp.createUserPool("installers");
  client = await idp.createAppClient(poolId, { name: "installer-app", callbackUrls: [CALLBACK], allowedOAuthScopes: ALLOWED });
  await idp.createUser(poolId, "ines", PASSWORD, { email: "ines@example.test" });
});
afterAll(() => idp?.stop());

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8")) as Record<string, unknown>;
}

/** Signs ines in asking for `scope` (no scope parameter when undefined) and exchanges the code. */
async function tokensFor(scope: string | undefined): Promise<Record<string, unknown>> {
  const { verifier, challenge } = pkceS256();
  const url = new URL(idp.endpoints(poolId).authorizationEndpoint);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: client.clientId,
    redirect_uri: CALLBACK,
    state: "s",
    code_challenge: challenge,
    code_challenge_method: "S256",
    ...(scope !== undefined && { scope }),
  }).toString();
  const callback = new URL(await new ScriptedUser().signInAtCognito(url.toString(), "ines", PASSWORD));
  const code = callback.searchParams.get("code") as string;
  const answer = await idp.tokenRequest(client, {
    grant_type: "authorization_code",
    code,
    redirect_uri: CALLBACK,
    code_verifier: verifier,
  });
  expect(answer.status).toBe(200);
  return answer.body;
}

test("the access token carries the scopes asked for that the client allows, signed as cognito-local signs", async () => {
  const tokens = await tokensFor("openid iot/provision");
  const [header] = (tokens.access_token as string).split(".");
  expect(JSON.parse(Buffer.from(header, "base64url").toString("utf8"))).toMatchObject({ alg: "RS256", kid: "CognitoLocal" });
  expect(claimsOf(tokens.access_token as string)).toMatchObject({ scope: "openid iot/provision", client_id: client.clientId });
  expect(claimsOf(tokens.id_token as string).scope).toBeUndefined();
});

test("a scope the client does not allow is left out; no scope asked for gets every allowed one", async () => {
  expect(claimsOf((await tokensFor("openid admin/everything")).access_token as string).scope).toBe("openid");
  expect(claimsOf((await tokensFor(undefined)).access_token as string).scope).toBe(ALLOWED.join(" "));
});

test("a refreshed access token keeps the scopes of its grant", async () => {
  const tokens = await tokensFor("iot/provision");
  const refreshed = await idp.tokenRequest(client, { grant_type: "refresh_token", refresh_token: tokens.refresh_token as string });
  expect(refreshed.status).toBe(200);
  expect(claimsOf(refreshed.body.access_token as string).scope).toBe("iot/provision");
});

test("concurrent sign-ins each get the scopes they asked for", async () => {
  const asks = ["openid", "iot/provision", "iot/device", "openid iot/device", "openid iot/provision", "iot/device iot/provision"];
  const results = await Promise.all([...asks, ...asks].map(async (scope) => ({ scope, tokens: await tokensFor(scope) })));
  for (const { scope, tokens } of results) expect(claimsOf(tokens.access_token as string).scope).toBe(scope);
});

test("grantedScopes: the rule on its own", () => {
  expect(grantedScopes("a b a c", ["a", "b"])).toEqual(["a", "b"]);
  expect(grantedScopes("", ["a", "b"])).toEqual(["a", "b"]);
  expect(grantedScopes("z", ["a"])).toEqual([]);
});

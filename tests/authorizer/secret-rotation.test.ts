/**
 * Rotating an HS256 shared secret without downtime (docs/operations.md#rotating-an-hs256-shared-secret): an issuer
 * accepts a second secret beside the first, each compared in constant time, both read from SSM SecureString
 * parameters at cold start and never logged. Tokens signed with either secret, arriving at once, are all accepted;
 * tokens signed with any other secret are all refused.
 */
import { randomBytes } from "node:crypto";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { createAuthorizer } from "../../functions/authorizer/authorizer";
import { checkAuthorizerSettings, loadAuthorizerConfig } from "../../functions/authorizer/config";
import { createHandler } from "../../functions/authorizer/index";
import { HS_ISSUER, mqttEvent, NOW_MS, openamClaims, RecordingLogger, SHARED_SECRET, SHARED_SECRET_BYTES, signHs } from "./fixtures";

const NEXT_BYTES = randomBytes(32);
const NEXT = NEXT_BYTES.toString("base64");
const OTHER_BYTES = randomBytes(32);

function rotatingConfig(issuer: Record<string, unknown> = { secret: NEXT, previousSecret: SHARED_SECRET }) {
  return loadAuthorizerConfig({
    region: "eu-west-1",
    accountId: "123456789012",
    issuers: [{ issuer: HS_ISSUER, algorithms: ["HS256"], audiences: ["iot"], ...issuer }],
  });
}

describe("an HS256 issuer with a previous secret", () => {
  it("accepts tokens signed with either secret, says which in the allow line, and refuses any other", async () => {
    const logger = new RecordingLogger();
    const authorize = createAuthorizer(rotatingConfig(), { logger, now: () => NOW_MS });
    expect(await authorize(mqttEvent(signHs(openamClaims(), NEXT_BYTES)))).toMatchObject({ isAuthenticated: true, principalId: "bob" });
    expect(await authorize(mqttEvent(signHs(openamClaims(), SHARED_SECRET_BYTES)))).toMatchObject({ isAuthenticated: true });
    expect(await authorize(mqttEvent(signHs(openamClaims(), OTHER_BYTES)))).toMatchObject({ isAuthenticated: false });
    expect(logger.lines.map((l) => [l.fields.outcome, l.fields.secretUsed ?? l.fields.check])).toEqual([
      ["allow", "current"],
      ["allow", "previous"],
      ["deny", "signature-invalid"],
    ]);
    for (const secret of [NEXT, SHARED_SECRET, NEXT_BYTES.toString("hex"), SHARED_SECRET_BYTES.toString("hex")]) {
      expect(logger.text).not.toContain(secret);
    }
  });

  it("decides tokens signed with both secrets arriving at once, each on its own merits", async () => {
    const authorize = createAuthorizer(rotatingConfig(), { logger: new RecordingLogger(), now: () => NOW_MS });
    const secrets = [NEXT_BYTES, SHARED_SECRET_BYTES, OTHER_BYTES];
    const requests = Array.from({ length: 600 }, (_, i) => {
      const which = i % 3;
      return { which, token: signHs(openamClaims({ sub: `device${i}` }), secrets[which]) };
    });
    const answers = await Promise.all(requests.map(({ token }) => authorize(mqttEvent(token))));
    answers.forEach((answer, i) => {
      expect(answer.isAuthenticated).toBe(requests[i].which !== 2);
      if (answer.isAuthenticated) expect(answer.principalId).toBe(`device${i}`);
    });
  });

  it("accepts only the current secret once the previous one is removed", async () => {
    const authorize = createAuthorizer(rotatingConfig({ secret: NEXT }), { logger: new RecordingLogger(), now: () => NOW_MS });
    expect(await authorize(mqttEvent(signHs(openamClaims(), NEXT_BYTES)))).toMatchObject({ isAuthenticated: true });
    expect(await authorize(mqttEvent(signHs(openamClaims(), SHARED_SECRET_BYTES)))).toMatchObject({ isAuthenticated: false });
  });

  it("refuses a previous secret that cannot serve, naming the setting and never the secret", () => {
    const base = { issuer: HS_ISSUER, algorithms: ["HS256"] };
    const short = Buffer.alloc(16, 9).toString("base64");
    const { problems } = checkAuthorizerSettings({
      issuers: [
        { ...base, principalPrefix: "a", secret: NEXT, previousSecret: short },
        { ...base, issuer: "https://b.example", principalPrefix: "b", secret: NEXT, previousSecret: NEXT },
        { ...base, issuer: "https://c.example", principalPrefix: "c", previousSecretParameter: "/p" },
        { ...base, issuer: "https://d.example", principalPrefix: "d", secret: NEXT, previousSecret: NEXT, previousSecretParameter: "/x" },
        { issuer: "https://e.example", principalPrefix: "e", algorithms: ["RS256"], jwksUri: "https://e.example/j", previousSecret: NEXT },
      ],
    });
    expect(problems).toEqual([
      `issuer ${HS_ISSUER}: the previous shared secret decodes to 16 bytes; HS256 needs at least 32`,
      "issuer https://b.example: the previous shared secret is the current one; a rotation needs two different secrets",
      "issuer https://c.example: an HMAC issuer needs its shared secret (secretParameter, or secret for local use)",
      "issuer https://c.example: a previous shared secret needs the current one (secretParameter or secret)",
      "issuer https://d.example: set previousSecretParameter or previousSecret, not both",
      "issuer https://e.example: a previous shared secret is set but the issuer does not use HMAC algorithms",
    ]);
    expect(JSON.stringify(problems)).not.toContain(NEXT);
  });
});

describe("the handler during a rotation", () => {
  const ssm = mockClient(SSMClient);
  const CURRENT_PARAMETER = "/iot-enterprise-auth/prod/issuers/0/shared-secret";
  const PREVIOUS_PARAMETER = "/iot-enterprise-auth/prod/issuers/0/previous-shared-secret";
  const environment = {
    AUTHORIZER_CONFIG: JSON.stringify({
      region: "eu-west-1",
      accountId: "123456789012",
      issuers: [
        {
          issuer: HS_ISSUER,
          algorithms: ["HS256"],
          secretParameter: CURRENT_PARAMETER,
          previousSecretParameter: PREVIOUS_PARAMETER,
          audiences: ["iot"],
        },
      ],
    }),
  };
  const now = Math.floor(Date.now() / 1000);
  const claims = (sub: string) => openamClaims({ sub, iat: now, exp: now + 3600 });

  beforeEach(() => ssm.reset());

  it("reads both secrets from SSM, decrypted, once, and accepts concurrent tokens signed with either", async () => {
    ssm.on(GetParameterCommand, { Name: CURRENT_PARAMETER, WithDecryption: true }).resolves({ Parameter: { Value: NEXT } });
    ssm.on(GetParameterCommand, { Name: PREVIOUS_PARAMETER, WithDecryption: true }).resolves({ Parameter: { Value: SHARED_SECRET } });
    const logger = new RecordingLogger();
    const handle = createHandler({ environment, logger });
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => handle(mqttEvent(signHs(claims(`d${i}`), i % 2 === 0 ? NEXT_BYTES : SHARED_SECRET_BYTES)))),
    );
    expect(answers.every((a) => a.isAuthenticated)).toBe(true);
    expect(
      ssm
        .commandCalls(GetParameterCommand)
        .map((c) => c.args[0].input.Name)
        .sort(),
    ).toEqual([CURRENT_PARAMETER, PREVIOUS_PARAMETER].sort());
    expect(logger.text).not.toContain(NEXT);
    expect(logger.text).not.toContain(SHARED_SECRET);
  });

  it("denies everything, naming the parameter and not its value, when the previous secret cannot be read", async () => {
    ssm.on(GetParameterCommand, { Name: CURRENT_PARAMETER }).resolves({ Parameter: { Value: NEXT } });
    ssm
      .on(GetParameterCommand, { Name: PREVIOUS_PARAMETER })
      .rejects(Object.assign(new Error(`no ${NEXT}`), { name: "ParameterNotFound" }));
    const logger = new RecordingLogger();
    const handle = createHandler({ environment, logger });
    expect(await handle(mqttEvent(signHs(claims("bob"), NEXT_BYTES)))).toMatchObject({ isAuthenticated: false });
    expect(logger.lines).toEqual([
      {
        level: "error",
        fields: expect.objectContaining({
          check: "configuration",
          reason: expect.stringContaining(`SSM parameter ${PREVIOUS_PARAMETER} (issuer ${HS_ISSUER}) could not be read: ParameterNotFound`),
        }),
      },
    ]);
    expect(logger.text).not.toContain(NEXT);
  });
});

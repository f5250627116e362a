/**
 * The stack settings of the two rotations (docs/operations.md): `signingKeys` (several named token-signing keys) and
 * the secret `previousSharedSecret`, read by the program into the authorizer's arguments, with problems named by the
 * stack settings a reader sets.
 */
import { generateKeyPairSync } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { ConfigurationError } from "../../functions/shared/problems";
import { PROJECT } from "../../stacks/config";
import { defineStack } from "../../stacks/program";
import { MOCK_STACK, setupMocks, unwrap, type MockRecorder } from "../../support/pulumi-mocks";

jest.mock("../../infra/bundle", () => ({
  ...jest.requireActual("../../infra/bundle"),
  functionArchive: () => new (jest.requireActual("@pulumi/pulumi").asset.AssetArchive)({}),
}));

const OPENAM = "https://openam.example.com:8443/openam/oauth2";
const CURRENT = Buffer.alloc(32, 5).toString("base64");
const PREVIOUS = Buffer.alloc(32, 6).toString("base64");
const key = (k: string) => `${PROJECT}:${k}`;
const ISSUERS = { [key("issuers")]: [{ issuer: OPENAM, algorithms: ["HS256"], sharedSecret: true }], [key("sharedSecret")]: CURRENT };
const SECRET_KEYS = [key("sharedSecret"), key("previousSharedSecret")];

function setup(config: Record<string, string | number | boolean | object>): MockRecorder {
  return setupMocks({ config, secretKeys: SECRET_KEYS, project: PROJECT });
}

async function settled(outputs: ReturnType<typeof defineStack>): Promise<void> {
  await Promise.all(Object.values(outputs).map((o) => unwrap(o as pulumi.Output<unknown>)));
  await new Promise((resolve) => setTimeout(resolve, 50));
}

function refused(config: Record<string, string | number | boolean | object>): string[] {
  setup(config);
  try {
    defineStack();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigurationError);
    return (err as ConfigurationError).problems;
  }
  throw new Error("the stack was accepted");
}

describe("signingKeys", () => {
  it("puts every named key on the authorizer and gives the generated private keys as a secret output", async () => {
    const given = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ type: "spki", format: "pem" }).toString();
    const mocks = setup({ ...ISSUERS, [key("signingKeys")]: [{ name: "primary" }, { name: "2026-06", publicKeyPem: given }] });
    const outputs = defineStack();
    await settled(outputs);
    const keys = await unwrap(outputs.signingKeys);
    expect(keys.map((k) => k.name)).toEqual(["primary", "2026-06"]);
    expect(mocks.one("aws:iot/authorizer:Authorizer").inputs.tokenSigningPublicKeys).toEqual({
      primary: mocks.one("tls:index/privateKey:PrivateKey").state.publicKeyPem,
      "2026-06": given,
    });
    expect(Object.keys(await unwrap(outputs.signingPrivateKeys))).toEqual(["primary"]);
    expect(await pulumi.isSecret(outputs.signingPrivateKeys)).toBe(true);
  });

  it("names the stack settings in its problems", () => {
    expect(
      refused({
        ...ISSUERS,
        [key("signingKeyBits")]: 4096,
        [key("signingKeys")]: [{ name: "a" }, { name: "a" }, { name: "b", rsaBits: 1 }],
      }),
    ).toEqual([
      "signingKeyBits sizes the one generated key; with signingKeys, give each generated key its rsaBits",
      'signingKeys[1].name "a" is given twice; each key needs its own name',
      "signingKeys[2].rsaBits must be one of 2048, 3072, 4096; got 1",
    ]);
    expect(refused({ ...ISSUERS, [key("signingEnabled")]: false, [key("signingKeys")]: [{ name: "a" }] })).toEqual([
      "signingEnabled is false but a signing key is configured (publicKeyPem, rsaBits, keyName or keys)",
    ]);
  });
});

describe("previousSharedSecret", () => {
  it("stores the second secret beside the first, both secret, and the function reads both parameters", async () => {
    const mocks = setup({ ...ISSUERS, [key("previousSharedSecret")]: PREVIOUS });
    await settled(defineStack());
    const parameters = mocks.byType("aws:ssm/parameter:Parameter");
    expect(parameters.map((p) => [p.inputs.name, p.inputs.value, p.secretInputs]).sort()).toEqual([
      [`/iot-enterprise-auth/iot-auth-${MOCK_STACK}/issuers/0/previous-shared-secret`, PREVIOUS, ["value"]],
      [`/iot-enterprise-auth/iot-auth-${MOCK_STACK}/issuers/0/shared-secret`, CURRENT, ["value"]],
    ]);
    const fn = mocks.one("aws:lambda/function:Function");
    const config = JSON.parse((fn.inputs.environment as { variables: Record<string, string> }).variables.AUTHORIZER_CONFIG);
    expect(config.issuers[0].previousSecretParameter).toBe(`/iot-enterprise-auth/iot-auth-${MOCK_STACK}/issuers/0/previous-shared-secret`);
    expect(JSON.stringify(fn.inputs)).not.toContain(PREVIOUS);
  });

  it("is refused without an issuer reading sharedSecret, or equal to it", () => {
    const rsOnly = { [key("issuers")]: [{ issuer: "https://idp.example", algorithms: ["RS256"], jwksUri: "https://idp.example/jwks" }] };
    expect(refused({ ...rsOnly, [key("previousSharedSecret")]: PREVIOUS })).toEqual([
      "previousSharedSecret is set but no issuer reads sharedSecret: it only serves a rotation of it",
    ]);
    expect(refused({ ...ISSUERS, [key("previousSharedSecret")]: CURRENT })).toEqual([
      `issuer ${OPENAM}: the previous shared secret is the current one; a rotation needs two different secrets`,
    ]);
  });
});

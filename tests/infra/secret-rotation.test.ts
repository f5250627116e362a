/**
 * The component's side of an HS256 secret rotation: a previous shared secret is stored like the first (its own
 * SecureString parameter, value secret), the function's configuration names both parameters and neither value, and
 * its role may read and decrypt exactly those two.
 */
import type { ConfigurationError } from "../../functions/shared/problems";
import { MOCK_STACK, setupMocks, type MockRecorder } from "../../support/pulumi-mocks";
import { allRegistered, captureChildren, outputsRegistered } from "../helpers/capture";

jest.mock("../../infra/bundle", () => jest.requireActual("../helpers/bundle-stub").stubbedBundleModule());

import { IotTokenAuthorizer } from "../../infra/iot-token-authorizer";
import { type IotTokenAuthorizerIssuer } from "../../infra/iot-token-authorizer-args";

const OPENAM = "https://openam.example.com:8443/openam/oauth2";
const CURRENT = Buffer.alloc(32, 1).toString("base64");
const PREVIOUS = Buffer.alloc(32, 2).toString("base64");
const PREFIX = `auth-${MOCK_STACK}`;
const PARAMETER = "aws:ssm/parameter:Parameter";
const issuer: IotTokenAuthorizerIssuer = { issuer: OPENAM, algorithms: ["HS256"], sharedSecret: CURRENT, previousSharedSecret: PREVIOUS };

let mocks: MockRecorder;
beforeEach(() => {
  mocks = setupMocks();
});

async function create(issuers: IotTokenAuthorizerIssuer[]): Promise<void> {
  const { transformation, captured } = captureChildren();
  const component = new IotTokenAuthorizer("auth", { issuers }, { transformations: [transformation] });
  await allRegistered(captured);
  await outputsRegistered(component);
}

describe("IotTokenAuthorizer with a previous shared secret", () => {
  it("stores both secrets in SecureString parameters of their own, marked secret", async () => {
    await create([issuer]);
    const parameters = mocks.byType(PARAMETER).map((p) => ({ name: p.name, inputs: p.inputs, secret: p.secretInputs.includes("value") }));
    expect(parameters.sort((x, y) => x.name.localeCompare(y.name))).toEqual([
      {
        name: "auth-issuer-0-previous-secret",
        inputs: expect.objectContaining({
          name: `/iot-enterprise-auth/${PREFIX}/issuers/0/previous-shared-secret`,
          type: "SecureString",
          value: PREVIOUS,
        }),
        secret: true,
      },
      {
        name: "auth-issuer-0-secret",
        inputs: expect.objectContaining({
          name: `/iot-enterprise-auth/${PREFIX}/issuers/0/shared-secret`,
          type: "SecureString",
          value: CURRENT,
        }),
        secret: true,
      },
    ]);
  });

  it("names both parameters in the function's configuration, never a secret, and lets the role read exactly them", async () => {
    await create([issuer]);
    const fn = mocks.one("aws:lambda/function:Function");
    const config = JSON.parse((fn.inputs.environment as { variables: Record<string, string> }).variables.AUTHORIZER_CONFIG);
    expect(config.issuers[0]).toEqual({
      issuer: OPENAM,
      algorithms: ["HS256"],
      secretParameter: `/iot-enterprise-auth/${PREFIX}/issuers/0/shared-secret`,
      previousSecretParameter: `/iot-enterprise-auth/${PREFIX}/issuers/0/previous-shared-secret`,
    });
    expect(JSON.stringify(fn.inputs)).not.toContain(CURRENT);
    expect(JSON.stringify(fn.inputs)).not.toContain(PREVIOUS);
    const policy = JSON.parse(mocks.one("aws:iam/rolePolicy:RolePolicy").inputs.policy as string);
    const arn = (slot: string) => `arn:aws:ssm:eu-west-1:123456789012:parameter/iot-enterprise-auth/${PREFIX}/issuers/0/${slot}`;
    const read = policy.Statement.find((s: { Sid: string }) => s.Sid === "ReadSharedSecrets");
    expect([read.Resource].flat().sort()).toEqual([arn("previous-shared-secret"), arn("shared-secret")]);
  });

  it("refuses the same secret twice, a previous secret beside a parameter of its own, and an inline previous secret", () => {
    const refused = (issuers: unknown[]) => {
      try {
        new IotTokenAuthorizer("auth", { issuers: issuers as IotTokenAuthorizerIssuer[] });
      } catch (err) {
        return (err as ConfigurationError).problems;
      }
      throw new Error("accepted");
    };
    expect(refused([{ ...issuer, previousSharedSecret: CURRENT }])).toEqual([
      `issuer ${OPENAM}: the previous shared secret is the current one; a rotation needs two different secrets`,
    ]);
    expect(refused([{ ...issuer, previousSecretParameter: "/mine" }])).toEqual([
      `issuer ${OPENAM}: set previousSharedSecret or previousSecretParameter, not both`,
    ]);
    expect(refused([{ ...issuer, previousSharedSecret: undefined, previousSecret: PREVIOUS }])).toEqual([
      `issuer ${OPENAM}: an inline previousSecret would end up in the function's environment; pass previousSharedSecret instead`,
    ]);
  });
});

/**
 * Create-first replacement of the IoT authorizer (docs/aws-iot-custom-auth.md#replacing-the-authorizer): what our code
 * controls of it, under Pulumi mocks. Toggling signing must give the authorizer a new physical name (so the new one
 * can exist beside the old one), every other change must keep the name, the permission and the domain configuration
 * must follow the new one, and nothing may ask Pulumi to delete first.
 */
import type * as pulumi from "@pulumi/pulumi";
import { allRegistered, captureChildren, type CapturedResource } from "../helpers/capture";
import { setupMocks, type MockRecorder } from "../../support/pulumi-mocks";

jest.mock("../../infra/bundle", () => jest.requireActual("../helpers/bundle-stub").stubbedBundleModule());

import { authorizerPhysicalName } from "../../infra/authorizer-name";
import { IotTokenAuthorizer } from "../../infra/iot-token-authorizer";
import { type IotTokenAuthorizerArgs } from "../../infra/iot-token-authorizer-args";

const COGNITO = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example";
const AUTHORIZER = "aws:iot/authorizer:Authorizer";
const DOMAIN = "aws:iot/domainConfiguration:DomainConfiguration";
const PERMISSION = "aws:lambda/permission:Permission";
const PREFIX = "devices-prod";

const base: IotTokenAuthorizerArgs = {
  issuers: [{ issuer: COGNITO, algorithms: ["RS256"], jwksUri: `${COGNITO}/.well-known/jwks.json` }],
  resourcePrefix: PREFIX,
  domainConfiguration: { name: "devices" },
};

let mocks: MockRecorder;
beforeEach(() => {
  mocks = setupMocks();
});

let instance = 0;
/** Declares the component (a fresh Pulumi name each time, the same physical prefix) and returns what it declared. */
async function declare(args: IotTokenAuthorizerArgs): Promise<{ captured: CapturedResource[]; authorizerName: string }> {
  const { transformation, captured } = captureChildren();
  const component = new IotTokenAuthorizer(`auth${instance++}`, args, { transformations: [transformation] });
  await allRegistered(captured);
  const authorizerName = await new Promise<string>((resolve) => component.authorizerName.apply(resolve));
  return { captured, authorizerName };
}

/** The physical names of the authorizer, the permission's source and the domain's default, as the provider would see them. */
function wiring(authorizerName: string) {
  const authorizer = mocks.resources.filter((r) => r.type === AUTHORIZER && r.inputs.name === authorizerName);
  const arn = authorizer[0]?.state.arn;
  return {
    authorizers: authorizer.length,
    permission: mocks.byType(PERMISSION).some((p) => p.inputs.sourceArn === arn),
    domainDefault: mocks
      .byType(DOMAIN)
      .map((d) => (d.inputs.authorizerConfig as { defaultAuthorizerName: string }).defaultAuthorizerName)
      .includes(authorizerName),
  };
}

describe("the authorizer's physical name", () => {
  it("differs before and after signing is toggled, and the permission and domain configuration follow", async () => {
    const signed = await declare(base);
    const unsigned = await declare({ ...base, signing: { enabled: false } });
    expect(signed.authorizerName).toBe(PREFIX);
    expect(unsigned.authorizerName).toBe(`${PREFIX}-unsigned`);
    expect(unsigned.authorizerName).not.toBe(signed.authorizerName);
    expect(wiring(signed.authorizerName)).toEqual({ authorizers: 1, permission: true, domainDefault: true });
    expect(wiring(unsigned.authorizerName)).toEqual({ authorizers: 1, permission: true, domainDefault: true });
  });

  it("stays the same across changes IoT makes in place", async () => {
    const names = new Set<string>();
    for (const args of [
      base,
      { ...base, tokenKeyName: "access_token" },
      { ...base, enableCachingForHttp: true },
      { ...base, refreshAfterSeconds: 900 },
      { ...base, lambda: { memorySize: 512 } },
      { ...base, signing: { keys: [{ name: "primary" }, { name: "next", rsaBits: 3072 as const }] } },
      { ...base, signing: { rsaBits: 4096 as const } },
      { ...base, domainConfiguration: { name: "devices", allowAuthorizerOverride: true } },
    ]) {
      names.add((await declare(args)).authorizerName);
    }
    expect([...names]).toEqual([PREFIX]);
  });

  it("is derived from the replacing inputs only, and fits IoT's 128 characters", () => {
    const longest = "p".repeat(64);
    expect(authorizerPhysicalName(longest, { signingDisabled: true }).length).toBeLessThanOrEqual(128);
    expect(authorizerPhysicalName(PREFIX, { signingDisabled: false })).toBe(PREFIX);
  });
});

describe("the replacement's order", () => {
  it("never asks Pulumi to delete first (the authorizer says so explicitly), and replaces on a new name or a signing toggle", async () => {
    const { captured } = await declare(base);
    for (const child of captured) {
      const expected = child.type === AUTHORIZER ? false : undefined;
      expect({ type: child.type, deleteBeforeReplace: (child.opts as pulumi.CustomResourceOptions).deleteBeforeReplace }).toEqual({
        type: child.type,
        deleteBeforeReplace: expected,
      });
    }
    const authorizer = captured.find((c) => c.type === AUTHORIZER);
    expect(authorizer?.opts.replaceOnChanges).toEqual(["signingDisabled", "name"]);
  });

  it("updates the domain configuration only after the new authorizer and its permission exist", async () => {
    const { captured } = await declare(base);
    const byResource = new Map(captured.map((c) => [c.resource, c.type]));
    const domain = captured.find((c) => c.type === DOMAIN);
    // The authorizer through its name (an input), the permission through dependsOn: Pulumi creates both before it
    // updates the domain configuration, and deletes the old authorizer only after that update.
    expect(((domain?.opts.dependsOn ?? []) as pulumi.Resource[]).map((r) => byResource.get(r))).toEqual([PERMISSION]);
    const inputs = mocks.one(DOMAIN).inputs.authorizerConfig as { defaultAuthorizerName: string };
    expect(inputs.defaultAuthorizerName).toBe(mocks.one(AUTHORIZER).inputs.name);
  });

  it("leaves the authorizer ACTIVE in its inputs, so the provider deactivates it before it deletes it", async () => {
    await declare(base);
    expect(mocks.one(AUTHORIZER).inputs.status).toBe("ACTIVE");
  });
});

/**
 * What docs/components.md says each component creates, and which outputs it calls secret, checked by declaring each
 * component under Pulumi's mocks with most of its options on: every child type the component registers is named in
 * its "What it creates" part, and an output is a Pulumi secret exactly when its row says **yes**.
 */
import * as pulumi from "@pulumi/pulumi";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DeviceGrant } from "../../infra/device-grant";
import { FleetProvisioning } from "../../infra/fleet-provisioning";
import { IotTokenAuthorizer } from "../../infra/iot-token-authorizer";
import { UserDirectory } from "../../infra/user-directory";
import { parseComponentsDoc } from "../../support/component-docs";
import { setupMocks, type MockRecorder } from "../../support/pulumi-mocks";
import { allRegistered, captureChildren, outputsRegistered } from "../helpers/capture";

jest.mock("../../infra/bundle", () => jest.requireActual("../helpers/bundle-stub").stubbedBundleModule());

const ACCOUNT = "123456789012";
const REGION = "eu-west-1";
const POOL = `https://cognito-idp.${REGION}.amazonaws.com/${REGION}_Example`;
const HOSTED = `https://devices.auth.${REGION}.amazoncognito.com`;
const CLIENT = "1example23456789abcdefghij";
const CERTIFICATE = `arn:aws:acm:${REGION}:${ACCOUNT}:certificate/1234abcd-12ab-34cd-56ef-1234567890ab`;

const page = readFileSync(join(__dirname, "..", "..", "docs", "components.md"), "utf8");
const sections = parseComponentsDoc(page);

/** Each component declared with most of its optional children. */
const declare: Record<string, (transformations: pulumi.ResourceTransformation[]) => pulumi.ComponentResource> = {
  IotTokenAuthorizer: (transformations) =>
    new IotTokenAuthorizer(
      "auth",
      {
        issuers: [
          { issuer: POOL, algorithms: ["RS256"], jwksUri: `${POOL}/.well-known/jwks.json`, principalPrefix: "c" },
          {
            issuer: "https://am.example.com/oauth2",
            algorithms: ["HS256"],
            sharedSecret: pulumi.secret(Buffer.alloc(32, 7).toString("base64")),
            principalPrefix: "f",
          },
        ],
        domainConfiguration: { name: "devices" },
      },
      { transformations },
    ),
  UserDirectory: (transformations) =>
    new UserDirectory(
      "users",
      {
        callbackUrls: ["https://abc123defg.execute-api.eu-west-1.amazonaws.com/callback"],
        clients: [
          { key: "tv", name: "Living-room TV" },
          { key: "printer", name: "Office printer", type: "confidential" },
        ],
        groups: [{ name: "installers" }],
      },
      { transformations },
    ),
  DeviceGrant: (transformations) =>
    new DeviceGrant(
      "grant",
      {
        clients: [
          { clientId: CLIENT, name: "Living-room TV", type: "public", scopes: ["openid", "iot/device"] },
          {
            clientId: "2example23456789abcdefghij",
            name: "Printer",
            type: "confidential",
            scopes: ["iot/device"],
            clientSecret: "s".repeat(40),
          },
        ],
        upstream: { issuer: POOL, authorizationEndpoint: `${HOSTED}/oauth2/authorize`, tokenEndpoint: `${HOSTED}/oauth2/token` },
        settings: { resultTokenSet: ["ACCESS", "REFRESH", "ID"] },
        customDomain: { domainName: "device.example.com", certificateArn: CERTIFICATE },
      },
      { transformations },
    ),
  FleetProvisioning: (transformations) =>
    new FleetProvisioning(
      "fleet",
      {
        claims: { jwt: { issuer: POOL, audiences: [CLIENT] } },
        identityPool: { userPoolId: `${REGION}_Example`, clientIds: [CLIENT] },
        allowUnboundClaims: true,
      },
      { transformations },
    ),
};

/** `aws:lambda/function:Function` → `Function`: the class name the page names it by (`aws.lambda.Function`). */
const className = (type: string) => type.split(":").at(-1)!;

let mocks: MockRecorder;
beforeEach(() => {
  mocks = setupMocks({ accountId: ACCOUNT, region: REGION });
});

describe.each(Object.keys(declare))("%s", (name) => {
  it("names every child it declares in 'What it creates', and marks secret exactly the outputs that are", async () => {
    const { transformation, captured } = captureChildren();
    const component = declare[name]([transformation]);
    await allRegistered(captured);
    await outputsRegistered(component);
    const section = sections.get(name);
    expect(section).toBeDefined();
    const creates = page.slice(page.indexOf(`## ${name}`)).split("\n### Arguments")[0];
    const named = (cls: string) => new RegExp("`(?:[\\w]+\\.)*" + cls + "`").test(creates);
    const types = [...new Set(mocks.resources.map((r) => r.type))].filter((t) => !t.startsWith("iot-enterprise-auth:"));
    expect(types.filter((t) => !named(className(t)))).toEqual([]);

    const outputs = Object.entries(component).filter(([k, v]) => k !== "urn" && pulumi.Output.isInstance(v)) as [
      string,
      pulumi.Output<unknown>,
    ][];
    const secret = await Promise.all(outputs.map(async ([key, output]) => [key, await pulumi.isSecret(output)] as const));
    const documented = new Map(section!.outputs.map((r) => [r.name, r.cells[1] === "**yes**"]));
    expect(Object.fromEntries(secret)).toEqual(Object.fromEntries(outputs.map(([key]) => [key, documented.get(key)])));
  });
});

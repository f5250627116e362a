/**
 * Several named token-signing keys on one authorizer (infra/token-signing-keys.ts): what the component declares for
 * them under Pulumi mocks, its outputs (private halves secret), and the problems it refuses at preview, all at once.
 */
import { createPublicKey, generateKeyPairSync } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { ConfigurationError } from "../../functions/shared/problems";
import { allRegistered, captureChildren, outputsRegistered } from "../helpers/capture";
import { setupMocks, unwrap, type MockRecorder } from "../../support/pulumi-mocks";

jest.mock("../../infra/bundle", () => jest.requireActual("../helpers/bundle-stub").stubbedBundleModule());

import { IotTokenAuthorizer } from "../../infra/iot-token-authorizer";
import { type IotTokenAuthorizerArgs } from "../../infra/iot-token-authorizer-args";
import { knownPublicKeys, MAX_TOKEN_SIGNING_KEYS } from "../../infra/token-signing-keys";

const COGNITO = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example";
const issuers = [{ issuer: COGNITO, algorithms: ["RS256" as const], jwksUri: `${COGNITO}/.well-known/jwks.json` }];
const KEY = "tls:index/privateKey:PrivateKey";
const AUTHORIZER = "aws:iot/authorizer:Authorizer";

function publicPem(bits = 2048): string {
  return generateKeyPairSync("rsa", { modulusLength: bits }).publicKey.export({ type: "spki", format: "pem" }).toString();
}

let mocks: MockRecorder;
beforeEach(() => {
  mocks = setupMocks();
});

/** Declares the component and waits until every child is registered (a later test's mocks must not meet it). */
async function create(args: Partial<IotTokenAuthorizerArgs>): Promise<IotTokenAuthorizer> {
  const { transformation, captured } = captureChildren();
  const component = new IotTokenAuthorizer("auth", { issuers, ...args }, { transformations: [transformation] });
  await allRegistered(captured);
  await outputsRegistered(component);
  return component;
}

function refused(args: Partial<IotTokenAuthorizerArgs>): string[] {
  try {
    new IotTokenAuthorizer("auth", { issuers, ...args });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigurationError);
    return (err as ConfigurationError).problems;
  }
  throw new Error("the arguments were accepted");
}

describe("IotTokenAuthorizer with several signing keys", () => {
  it("puts every key on the authorizer by name: generated ones and a given PEM", async () => {
    const given = publicPem();
    const component = await create({
      signing: { keys: [{ name: "primary" }, { name: "2026-06", rsaBits: 3072 }, { name: "vendor:tv", publicKeyPem: given }] },
    });
    const keys = await unwrap(component.signingKeys);
    const pairs = mocks.byType(KEY);
    expect(pairs.map((p) => [p.name, p.inputs])).toEqual([
      ["auth-signing-key", { algorithm: "RSA", rsaBits: 2048 }],
      ["auth-signing-key-2026-06", { algorithm: "RSA", rsaBits: 3072 }],
    ]);
    expect(keys).toEqual([
      { name: "primary", publicKeyPem: pairs[0].state.publicKeyPem },
      { name: "2026-06", publicKeyPem: pairs[1].state.publicKeyPem },
      { name: "vendor:tv", publicKeyPem: given },
    ]);
    expect(mocks.one(AUTHORIZER).inputs.tokenSigningPublicKeys).toEqual(Object.fromEntries(keys.map((k) => [k.name, k.publicKeyPem])));
    expect(createPublicKey(keys[1].publicKeyPem).asymmetricKeyDetails?.modulusLength).toBe(3072);
  });

  it("gives each generated key's private half as a secret output, and none for a given PEM", async () => {
    const component = await create({ signing: { keys: [{ name: "old", publicKeyPem: publicPem() }, { name: "new" }] } });
    const privates = await unwrap(component.signingPrivateKeys);
    expect(Object.keys(privates)).toEqual(["new"]);
    expect(privates.new).toBe(mocks.one(KEY).state.privateKeyPem);
    expect(await pulumi.isSecret(component.signingPrivateKeys)).toBe(true);
    expect(await pulumi.isSecret(component.signingKeys)).toBe(false);
    // The first key's halves are the one-key outputs: `old` is given, so there is no private key for it.
    expect(await unwrap(component.publicKeyPem)).toBe((await unwrap(component.signingKeys))[0].publicKeyPem);
    expect(await unwrap(component.privateKeyPem)).toBeUndefined();
    expect(await pulumi.isSecret(component.privateKeyPem)).toBe(true);
  });

  it("keeps the one-key form's key when the same key is listed as primary", async () => {
    await create({ signing: { keys: [{ name: "primary" }] } });
    expect(mocks.one(KEY).name).toBe("auth-signing-key");
  });

  it("checks a public key given as an output once it is known, failing the deployment", () => {
    // The component applies `knownPublicKeys` to the known values; a rejected Output would only surface here as an
    // unhandled rejection, so the check is asserted on directly.
    const pairs: [string, string][] = [
      ["ok", publicPem()],
      ["late", publicPem(1024)],
    ];
    expect(() => knownPublicKeys(pairs, "test")).toThrow(
      /signing\.keys\[1\]\.publicKeyPem must be an RSA key of at least 2048 bits; got rsa 1024/,
    );
    expect(knownPublicKeys(pairs.slice(0, 1), "test")).toEqual([{ name: "ok", publicKeyPem: pairs[0][1] }]);
  });
});

describe("signing key checks at preview", () => {
  it("lists every problem at once", () => {
    const weak = publicPem(1024);
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();
    const problems = refused({
      tokenKeyName: "token",
      signing: {
        keys: [
          { name: "a" },
          { name: "a", rsaBits: 3072 },
          { name: "token" },
          { name: "bad name!" },
          { name: "weak", publicKeyPem: weak },
          { name: "ec", publicKeyPem: ec },
          { name: "garbage", publicKeyPem: "-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----" },
          { name: "both", publicKeyPem: publicPem(), rsaBits: 4096 },
          { name: "small", rsaBits: 1024 as 2048 },
        ],
      },
    });
    expect(problems).toEqual([
      `signing.keys lists 9 keys; at most ${MAX_TOKEN_SIGNING_KEYS} (rotation needs two at a time)`,
      'signing.keys[1].name "a" is given twice; each key needs its own name',
      'signing.keys[2].name "token" is the token\'s parameter name (tokenKeyName); give the key another name',
      'signing.keys[3].name must be 1-128 letters, digits, : _ or -; got "bad name!"',
      "signing.keys[4].publicKeyPem must be an RSA key of at least 2048 bits; got rsa 1024",
      "signing.keys[5].publicKeyPem must be an RSA key of at least 2048 bits; got ec",
      "signing.keys[6].publicKeyPem is not a PEM public key",
      "signing.keys[7].rsaBits sizes a generated key; it conflicts with publicKeyPem, which replaces it",
      "signing.keys[8].rsaBits must be one of 2048, 3072, 4096; got 1024",
    ]);
    expect(mocks.resources).toEqual([]);
  });

  it("refuses the two forms mixed, an empty list, keys with signing off, and an oversized PEM", () => {
    expect(refused({ signing: { keyName: "primary", keys: [{ name: "next" }] } })).toEqual([
      "signing.keys lists the keys: leave keyName, publicKeyPem and rsaBits unset with it",
    ]);
    expect(refused({ signing: { keys: [] } })).toEqual(["signing.keys must list at least one key, {name, publicKeyPem?, rsaBits?}"]);
    expect(refused({ signing: { enabled: false, keys: [{ name: "x" }] } })).toEqual([
      "signing.enabled is false but a signing key is configured (publicKeyPem, rsaBits, keyName or keys)",
    ]);
    const long = `-----BEGIN PUBLIC KEY-----\n${"A".repeat(5_200)}\n-----END PUBLIC KEY-----`;
    expect(refused({ signing: { keys: [{ name: "long", publicKeyPem: long }] } })).toEqual([
      `signing.keys[0].publicKeyPem is ${long.length} characters; IoT takes at most 5120`,
    ]);
  });

  it("refuses a one-key name equal to the token's parameter name", () => {
    expect(refused({ tokenKeyName: "access_token", signing: { keyName: "access_token" } })).toEqual([
      'signing.keyName "access_token" is the token\'s parameter name (tokenKeyName); give the key another name',
    ]);
  });
});

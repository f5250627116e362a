/** iot-token-signing and lambda-permission-source, passing and failing. */
import { checkLambdaPermission } from "../../policy/rules/lambda-permissions";
import { checkAuthorizerSigning, checkSigningKeySize, rsaPublicKeyBits } from "../../policy/rules/token-signing";
import { publicKeyPem, reported } from "./support";

describe("iot-token-signing", () => {
  const signed = (keys: Record<string, unknown>) => ({
    name: "a",
    signingDisabled: false,
    tokenKeyName: "token",
    tokenSigningPublicKeys: keys,
  });

  it("passes an authorizer that signs with RSA keys of 2048 bits and more", () => {
    expect(reported(checkAuthorizerSigning, signed({ primary: publicKeyPem(2048), next: publicKeyPem(3072) }))).toEqual([]);
  });

  it("refuses signing off, a missing key name, no keys, small, non-RSA and unreadable keys", () => {
    expect(reported(checkAuthorizerSigning, { signingDisabled: true })).toEqual([expect.stringMatching(/^token signing is off/)]);
    expect(reported(checkAuthorizerSigning, { signingDisabled: false })).toEqual([
      "signing is on but tokenKeyName is not set",
      "signing is on but tokenSigningPublicKeys has no key",
    ]);
    expect(
      reported(checkAuthorizerSigning, signed({ old: publicKeyPem(1024), ec: publicKeyPem("ec"), junk: "-----BEGIN nothing" })),
    ).toEqual([
      'token signing key "old" is RSA 1024; at least 2048 bits are required',
      'token signing key "ec" is an ec key; IoT token signing takes RSA keys',
      'token signing key "junk" is not a PEM public key',
    ]);
  });

  it("takes the minimum from the policy's config", () => {
    expect(reported(checkAuthorizerSigning, signed({ primary: publicKeyPem(2048) }), { minimumRsaBits: 3072 })).toEqual([
      'token signing key "primary" is RSA 2048; at least 3072 bits are required',
    ]);
    expect(rsaPublicKeyBits(publicKeyPem(3072))).toBe(3072);
  });

  it("checks the size of generated RSA keys, the provider's default being 2048", () => {
    expect(reported(checkSigningKeySize, { algorithm: "RSA", rsaBits: 4096 })).toEqual([]);
    expect(reported(checkSigningKeySize, { algorithm: "RSA" })).toEqual([]);
    expect(reported(checkSigningKeySize, { algorithm: "ECDSA", ecdsaCurve: "P256" })).toEqual([]);
    expect(reported(checkSigningKeySize, { algorithm: "RSA", rsaBits: 1024 })).toEqual([
      "the RSA key is 1024 bits; at least 2048 are required",
    ]);
  });
});

describe("lambda-permission-source", () => {
  const iot = {
    action: "lambda:InvokeFunction",
    function: "iot-auth-dev",
    principal: "iot.amazonaws.com",
    sourceArn: "arn:aws:iot:eu-west-1:123456789012:authorizer/iot-auth-dev",
    sourceAccount: "123456789012",
  };
  const api = {
    ...iot,
    principal: "apigateway.amazonaws.com",
    sourceArn: "arn:aws:execute-api:eu-west-1:123456789012:abc123/*/POST/oauth2/token",
  };

  it("passes a service permission with a source ARN and account, or a source ARN that names the account", () => {
    expect(reported(checkLambdaPermission, iot)).toEqual([]);
    const { sourceAccount: _, ...withoutAccount } = api;
    expect(reported(checkLambdaPermission, withoutAccount)).toEqual([]);
  });

  it("refuses any principal, non-service principals, no source ARN, an ARN without a resource or account, and mismatches", () => {
    expect(reported(checkLambdaPermission, { ...iot, principal: "*" })).toEqual([expect.stringMatching(/is not one service/)]);
    expect(reported(checkLambdaPermission, { ...iot, principal: "123456789012" })).toEqual([
      expect.stringMatching(/not an AWS service principal/),
    ]);
    expect(reported(checkLambdaPermission, { ...iot, sourceArn: undefined })).toEqual([
      "iot.amazonaws.com may invoke the function for any resource: set sourceArn",
    ]);
    expect(reported(checkLambdaPermission, { ...iot, sourceArn: "arn:aws:iot:eu-west-1:123456789012:*" })).toEqual([
      expect.stringMatching(/does not name a resource/),
    ]);
    expect(reported(checkLambdaPermission, { principal: "s3.amazonaws.com", sourceArn: "arn:aws:s3:::bucket" })).toEqual([
      'sourceArn "arn:aws:s3:::bucket" does not name an account: set sourceAccount',
    ]);
    expect(reported(checkLambdaPermission, { ...iot, sourceAccount: "210987654321" })).toEqual([
      "sourceArn names account 123456789012 but sourceAccount is 210987654321",
    ]);
    expect(reported(checkLambdaPermission, { ...iot, sourceAccount: "me" })).toEqual(['sourceAccount "me" is not an account id']);
  });
});

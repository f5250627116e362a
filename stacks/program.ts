/**
 * The program: one `IotTokenAuthorizer` for the identity providers the stack configures (seed 000: devices
 * sign in at OpenAM with the OAuth 2.0 device flow and connect to IoT Core with the access token).
 */
import type * as pulumi from "@pulumi/pulumi";
import { IotTokenAuthorizer } from "../infra/iot-token-authorizer";
import { COMPONENT_NAME, readStackConfig, type ConfigSource } from "./config";

export interface StackOutputs {
  authorizerName: pulumi.Output<string>;
  authorizerArn: pulumi.Output<string>;
  tokenKeyName: pulumi.Output<string>;
  publicKeyPem: pulumi.Output<string | undefined>;
  /** Secret: `pulumi stack output --show-secrets privateKeyPem`. */
  privateKeyPem: pulumi.Output<string | undefined>;
  functionName: pulumi.Output<string>;
  functionArn: pulumi.Output<string>;
  dataEndpoint: pulumi.Output<string>;
}

/** Reads the configuration (failing with every problem before declaring anything) and declares the stack. */
export function defineStack(source?: ConfigSource): StackOutputs {
  const authorizer = new IotTokenAuthorizer(COMPONENT_NAME, readStackConfig(source));
  return {
    authorizerName: authorizer.authorizerName,
    authorizerArn: authorizer.authorizerArn,
    tokenKeyName: authorizer.tokenKeyName,
    publicKeyPem: authorizer.publicKeyPem,
    privateKeyPem: authorizer.privateKeyPem,
    functionName: authorizer.functionName,
    functionArn: authorizer.functionArn,
    dataEndpoint: authorizer.dataEndpoint,
  };
}

/** Entry point of the `iot-enterprise-auth` Pulumi program (`main: stacks/` in Pulumi.yaml). */
import { defineStack } from "./program";

const outputs = defineStack();

export const authorizerName = outputs.authorizerName;
export const authorizerArn = outputs.authorizerArn;
export const tokenKeyName = outputs.tokenKeyName;
export const publicKeyPem = outputs.publicKeyPem;
/** Secret; read it with `pulumi stack output --show-secrets privateKeyPem`. */
export const privateKeyPem = outputs.privateKeyPem;
export const functionName = outputs.functionName;
export const functionArn = outputs.functionArn;
export const dataEndpoint = outputs.dataEndpoint;

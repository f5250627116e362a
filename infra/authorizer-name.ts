/**
 * The IoT authorizer's physical name. IoT authorizer names are unique per account and region, and a change IoT
 * cannot make in place (turning token signing on or off: "Creating an authorizer" in the AWS IoT Developer Guide)
 * needs a second authorizer. For that one to exist beside the old one while devices and the domain configuration move
 * over (create-first replacement), its name must differ; so the name carries a suffix derived from the inputs that
 * force replacement, and from nothing else, so that every other change keeps the name and updates in place.
 *
 * The signing-on name is the bare resource prefix, which is what every earlier release called the authorizer: a stack
 * upgraded with signing on keeps its authorizer. docs/aws-iot-custom-auth.md#replacing-the-authorizer
 */

/** The inputs of `aws.iot.Authorizer` that IoT cannot update (`UpdateAuthorizer` does not take them). */
export const AUTHORIZER_REPLACING_INPUTS = ["signingDisabled"] as const;

export interface ReplacingInputs {
  signingDisabled: boolean;
}

/** `<prefix>` with signing on, `<prefix>-unsigned` with it off: at most 64 + 9 characters, within IoT's 128. */
export function authorizerPhysicalName(resourcePrefix: string, inputs: ReplacingInputs): string {
  return inputs.signingDisabled ? `${resourcePrefix}-unsigned` : resourcePrefix;
}

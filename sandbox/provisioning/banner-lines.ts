/**
 * What the sandbox's banner says about fleet provisioning (banner.ts prints these lines when it is on): where
 * installers ask for claims and what the route checks, the template, the MQTT over TLS endpoint and the CA a
 * device must trust, and the one command that provisions a device, with a thing name the stack's pattern accepts.
 */
import { anchoredPattern, IOT_THING_NAME } from "../../functions/shared/provisioning-parameters";
import { type ProvisioningFacts } from "./sandbox-provisioning";

/** Names to show in an example, the first the pattern accepts (the dev stack's serial numbers first). */
const EXAMPLE_NAMES = ["AB-123456", "thermostat-1", "device1", "A1", "1"];

/** A thing name the pattern accepts, for an example; `<thing name>` when none of ours does. */
export function exampleThingName(pattern: string): string {
  const compiled = anchoredPattern(pattern);
  return EXAMPLE_NAMES.find((name) => compiled?.test(name) && IOT_THING_NAME.test(name)) ?? "<thing name>";
}

export function provisioningBannerLines(p: ProvisioningFacts, sandboxFile: string): string[] {
  const group = p.requiredGroup !== undefined ? `, group ${p.requiredGroup}` : "";
  return [
    `  Fleet provisioning  claims at POST ${p.claimUrl}  (JWT authorizer: installer app ${p.installerClientId}, scope ${p.scope}${group})`,
    `                      template ${p.templateName}; thing names ${p.thingNamePattern}; the test user is an installer`,
    `                      devices exchange claims at ${p.mqttsUrl} (MQTT over TLS, client certificates; trust ${p.caFile})`,
    "",
    "Provision a device: sign in as the installer (approve its code as above), then the device exchanges its claim:",
    `  npm run device -- provision ${exampleThingName(p.thingNamePattern)} --sandbox ${sandboxFile}`,
    "",
  ];
}

/**
 * Composing `UserDirectory` and `FleetProvisioning` in your own program: installers sign in to a Cognito user pool
 * (authorization code with PKCE, scope `iot/provision`, members of the `installers` group), ask the claim route
 * for a claim certificate bound to them and one thing name, and hand it to the device, which exchanges it once
 * through IoT's fleet provisioning MQTT API for its own certificate, thing and policy.
 *
 * Settings (`pulumi config set …`): `aws:region`, and optionally `installerAppCallbackUrl`.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { FleetProvisioning, UserDirectory } from "../../infra";

const config = new pulumi.Config();
const installerAppCallbackUrl = config.get("installerAppCallbackUrl") || "http://localhost:8765/callback";

const users = new UserDirectory("installers", {
  callbackUrls: [installerAppCallbackUrl],
  clients: [{ key: "installerApp", name: "Installer app", scopes: ["openid", "iot/provision"] }],
  scopes: [{ name: "provision", description: "Ask for provisioning claims for devices being installed" }],
  mfa: "ON",
});

// Only members of this group get claims; an administrator adds installers to it.
new aws.cognito.UserGroup("installers-group", {
  name: "installers",
  userPoolId: users.userPoolId,
  description: "May provision devices (fleet provisioning by trusted user)",
});

const fleet = new FleetProvisioning("fleet", {
  // Heat pumps and boilers, named by their serial number: two letters, a dash, six digits.
  thing: { namePattern: "[A-Z]{2}-[0-9]{6}" },
  parameters: [{ name: "Model", pattern: "heat-pump|boiler" }],
  claims: {
    jwt: { issuer: users.issuer, audiences: [users.clientIds.apply((ids) => ids.installerApp)] },
    requiredGroup: "installers",
  },
  tags: { application: "device-installation" },
});

export const claimEndpoint = fleet.claimEndpoint;
export const templateName = fleet.templateName;
export const templateArn = fleet.templateArn;
export const issuer = users.issuer;
export const hostedUiUrl = users.hostedUiUrl;
export const installerAppClientId = users.clientIds.apply((ids) => ids.installerApp);
/** Where devices connect, with the claim and later with their own certificate. */
export const dataEndpoint = aws.iot.getEndpointOutput({ endpointType: "iot:Data-ATS" }).endpointAddress;

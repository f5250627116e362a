/**
 * What `npm start` prints once everything listens: every URL, the test user and its principal, and the next
 * commands to run, with topics and MQTT client ids that the stack's grants allow for that principal (an example
 * that the policy refuses would teach the wrong thing).
 */
import path from "node:path";
import { type GrantRule } from "../functions/authorizer/config";
import { type SandboxSettings } from "./settings";
import { formatIdpLines } from "./banner-idps";
import { type IdpDescription } from "./sandbox-idps";
import { provisioningBannerLines } from "./provisioning/banner-lines";
import { type ProvisioningFacts } from "./provisioning/sandbox-provisioning";

/** What the banner tells: the running sandbox's addresses, names and test user. */
export interface BannerFacts {
  deviceGrantUrl: string;
  cognitoUrl: string;
  issuer: string;
  dynamoEndpoint: string;
  tableName: string;
  gateway: { mqttUrl: string; wsUrl: string; httpUrl: string };
  clientId: string;
  authorizerName: string;
  tokenKeyName: string;
  signingKeyFile: string;
  user: { username: string; password: string; principalId: string };
  settings: SandboxSettings;
  sandboxFile: string;
  /** Said first, when the sandbox is exposed (`--public-host`). */
  warning?: string;
  /** Every issuer the authorizer trusts (sandbox-idps.ts). */
  idps?: IdpDescription[];
  /** With fleet provisioning: its endpoints and the command that provisions a device. */
  provisioning?: ProvisioningFacts;
}

/** `topic/event/{principal}/*` → `event/<principal id>/*`, for the resources of `action` in the grants. */
export function resourcesFor(grants: GrantRule[], action: GrantRule["actions"][number], principalId: string): string[] {
  return grants
    .filter((g) => g.actions.includes(action))
    .flatMap((g) => g.resources)
    .map((r) => r.replace(/^(client|topicfilter|topic)\//, "").replaceAll("{principal}", principalId));
}

/** The start-up text: every URL, the test user, and what to run next. */
export function formatBanner(s: BannerFacts, persistent: boolean): string {
  const { grants } = s.settings.authorizer;
  const pid = s.user.principalId;
  // A topic tree (`…/*`) makes the better example: `…/hello` to publish to, `…/#` to listen on.
  const example = (action: GrantRule["actions"][number], tail: string) => {
    const resources = resourcesFor(grants, action, pid);
    return (resources.find((r) => r.endsWith("/*")) ?? resources[0])?.replace(/\*$/, tail);
  };
  const publishTopic = example("iot:Publish", "hello") ?? `devices/${pid}/hello`;
  const subscribeFilter = example("iot:Subscribe", "#") ?? `devices/${pid}/#`;
  const clientIds = resourcesFor(grants, "iot:Connect", pid);
  // Two connections at once need two client ids (IoT drops the older connection of a client id).
  const mqttClientId = (suffix: string) => clientIds.find((c) => c.endsWith("*"))?.replace(/\*$/, suffix) ?? clientIds[0] ?? pid;
  // A path under the working directory reads better as a relative one.
  const relative = path.relative(process.cwd(), s.sandboxFile);
  const file = relative.startsWith("..") || path.isAbsolute(relative) ? s.sandboxFile : relative;
  return [
    "",
    ...(s.warning !== undefined ? [`WARNING: ${s.warning}`, ""] : []),
    `IoT enterprise auth sandbox is running (settings: ${s.settings.source})`,
    "",
    `  Device grant API    ${s.deviceGrantUrl}  (users enter codes at ${s.deviceGrantUrl}/device)`,
    `  User directory      ${s.cognitoUrl}  (cognito-local; issuer ${s.issuer})`,
    `  DynamoDB            ${s.dynamoEndpoint}  (dynalite, ${persistent ? "on disk" : "in memory"}; table ${s.tableName})`,
    `  IoT gateway         ${s.gateway.mqttUrl}  ${s.gateway.wsUrl}  ${s.gateway.httpUrl}/topics/{topic}`,
    "",
    `  Device app client   ${s.clientId}  (${s.settings.deviceClient.name}, public; scopes ${s.settings.deviceClient.scopes.join(" ")})`,
    `  Authorizer          ${s.authorizerName}  (token key "${s.tokenKeyName}"; signing key ${s.signingKeyFile})`,
    `  Test user           ${s.user.username}  password ${s.user.password}`,
    `  Its principal id    ${pid}`,
    `    connect as        ${clientIds.join(", ")}`,
    `    publish/receive   ${resourcesFor(grants, "iot:Publish", pid).join(", ")}`,
    `    subscribe         ${resourcesFor(grants, "iot:Subscribe", pid).join(", ")}`,
    `  Sandbox file        ${s.sandboxFile}`,
    "",
    ...formatIdpLines(s.idps ?? [], file),
    "Next, sign a device in (open the link it prints and sign in as the test user):",
    `  npm run device -- login --sandbox ${file}`,
    "or approve the code it shows from another terminal, as the test user:",
    `  npm run sandbox -- approve <user code> --sandbox ${file}`,
    "then, with the tokens it stored, listen and publish:",
    `  npm run device -- subscribe '${subscribeFilter}' --sandbox ${file} --mqtt-client-id ${mqttClientId("listener")}`,
    `  npm run device -- publish ${publishTopic} '{"hello":"world"}' --sandbox ${file} --mqtt-client-id ${mqttClientId("device")}`,
    `(without the file: npm run device -- login --base-url ${s.deviceGrantUrl} --client-id ${s.clientId}, then --mqtt-url, --authorizer-name,`,
    ` --token-key-name and --signing-key for publish; see npm run device -- help)`,
    "",
    ...(s.provisioning ? provisioningBannerLines(s.provisioning, file) : []),
    "Ctrl-C stops everything.",
    "",
  ].join("\n");
}

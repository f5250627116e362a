/**
 * The banner's part about the issuers the authorizer trusts (sandbox-idps.ts describes them): for each, its
 * issuer URL and algorithm (and the stack's issuer it stands in for), its device flow endpoints, its client,
 * its test user with the principal id and topics that user gets; then the commands that sign a device in at
 * the enterprise IdP and publish with its token. Never a secret but the test users' throwaway passwords.
 */
import { type IdpDescription } from "./sandbox-idps";

function describe(idp: IdpDescription): string[] {
  const what = idp.standsInFor !== undefined ? `${idp.algorithm}, standing in for ${idp.standsInFor}` : `${idp.algorithm}, ${idp.name}`;
  const client = idp.clientSecret !== undefined ? "confidential: its secret is in the sandbox file" : "public";
  return [
    `  ${idp.key.padEnd(11)} ${idp.issuer}  (${what})`,
    `    device flow       POST ${idp.deviceAuthorizationEndpoint}, then POST ${idp.tokenEndpoint}; people approve at ${idp.verificationUri}`,
    `    client            ${idp.clientId} (${client}); scopes ${idp.scope}`,
    `    test user         ${idp.username}  password ${idp.password}  principal id ${idp.principalId}`,
    `    topics            publish/receive ${idp.topics.publishReceive.join(", ")}; subscribe ${idp.topics.subscribe.join(", ")}`,
    ...(idp.sharedSecretFile !== undefined ? [`    shared secret     ${idp.sharedSecretFile}`] : []),
  ];
}

/** The lines, or none when the pool is the only issuer. */
export function formatIdpLines(idps: IdpDescription[], file: string): string[] {
  const enterprise = idps.find((i) => i.key === "enterprise");
  if (enterprise === undefined) return [];
  const topic =
    enterprise.topics.publishReceive.find((t) => t.endsWith("/*"))?.replace(/\*$/, "hello") ?? enterprise.topics.publishReceive[0];
  return [
    "Issuers the authorizer trusts (every issuer of the stack, stood in for here, and the device grant's user pool):",
    ...idps.flatMap(describe),
    "",
    "Sign a device in at the enterprise IdP instead (the OpenAM walkthrough's flow: sandbox/README.md), approve its code, publish:",
    `  npm run device -- login --idp enterprise --sandbox ${file}`,
    `  npm run sandbox -- approve <user code> --idp enterprise --sandbox ${file}`,
    ...(topic !== undefined
      ? [`  npm run device -- publish ${topic} '{"hello":"enterprise"}' --idp enterprise --transport https --sandbox ${file}`]
      : []),
    "",
  ];
}

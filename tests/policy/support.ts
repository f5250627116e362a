/** What the policy tests share: a collecting `report`, and real keys and documents to check. */
import { generateKeyPairSync } from "node:crypto";
import { type Props, type Report } from "../../policy/rules/values";

/** The messages `check` reports for `props`. */
export function reported<C>(check: (props: Props, report: Report, config?: C) => void, props: Props, config?: C): string[] {
  const messages: string[] = [];
  check(props, (m) => messages.push(m), config);
  return messages;
}

const keys = new Map<string, string>();
/** A real SPKI PEM public key: RSA of `bits`, or an EC P-256 key. */
export function publicKeyPem(kind: number | "ec"): string {
  const id = String(kind);
  let pem = keys.get(id);
  if (pem === undefined) {
    const pair = kind === "ec" ? generateKeyPairSync("ec", { namedCurve: "P-256" }) : generateKeyPairSync("rsa", { modulusLength: kind });
    pem = pair.publicKey.export({ type: "spki", format: "pem" }).toString();
    keys.set(id, pem);
  }
  return pem;
}

export function policyDocument(...statements: object[]): string {
  return JSON.stringify({ Version: "2012-10-17", Statement: statements });
}

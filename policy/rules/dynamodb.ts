/**
 * DynamoDB tables: encrypted with a KMS key (the AWS managed `aws/dynamodb` key or a customer managed one, whose use
 * CloudTrail records) rather than a key AWS owns; expired items removed by TTL (the tables hold device-code hashes,
 * user ids, addresses and claim bindings that must not outlive their use); point-in-time recovery on (Amazon
 * DynamoDB Developer Guide, "Encryption at rest", "Time to Live", "Point-in-time recovery").
 */
import { type Props, record, type Report } from "./values";

/** `aws:dynamodb/table:Table`: `serverSideEncryption.enabled`. */
export function checkTableEncryption(props: Props, report: Report): void {
  if (record(props, "serverSideEncryption").enabled !== true) {
    report("serverSideEncryption is not enabled: the table is encrypted with a key AWS owns, which no CloudTrail entry records the use of");
  }
}

/** `aws:dynamodb/table:Table`: `ttl.enabled` with an attribute. */
export function checkTableTtl(props: Props, report: Report): void {
  const ttl = record(props, "ttl");
  if (ttl.enabled !== true || typeof ttl.attributeName !== "string" || ttl.attributeName === "") {
    report("time to live is not enabled: expired items would stay in the table for ever");
  }
}

/** `aws:dynamodb/table:Table`: `pointInTimeRecovery.enabled`. */
export function checkTablePointInTimeRecovery(props: Props, report: Report): void {
  if (record(props, "pointInTimeRecovery").enabled !== true) {
    report("point-in-time recovery is off: a table written by mistake cannot be restored to an earlier second");
  }
}

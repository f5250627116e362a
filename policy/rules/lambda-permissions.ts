/**
 * Lambda permissions scoped by source ARN and account. A service principal alone (`iot.amazonaws.com`) lets that
 * service invoke the function on behalf of any resource in any account; `SourceArn` names the one resource, and
 * `SourceAccount` (or a source ARN that contains the account) the account that owns it (AWS Lambda API Reference,
 * "AddPermission"; AWS IoT Core Developer Guide, "Cross-service confused deputy prevention").
 */
import { isAccountId, parseArn } from "./arn";
import { type Props, quote, type Report } from "./values";

/** `aws:lambda/permission:Permission`. */
export function checkLambdaPermission(props: Props, report: Report): void {
  const principal = props.principal;
  if (typeof principal !== "string" || principal.includes("*")) {
    report(`principal ${quote(principal)} is not one service: name the service that invokes the function`);
    return;
  }
  if (!principal.endsWith(".amazonaws.com")) {
    report(`principal ${quote(principal)} is not an AWS service principal: this project lets only services invoke its functions`);
    return;
  }
  const sourceArn = props.sourceArn;
  if (typeof sourceArn !== "string" || sourceArn === "") {
    report(`${principal} may invoke the function for any resource: set sourceArn`);
    return;
  }
  const arn = parseArn(sourceArn);
  if (arn === undefined || arn.resource === "" || arn.resource === "*" || arn.service.includes("*")) {
    report(`sourceArn ${quote(sourceArn)} does not name a resource`);
    return;
  }
  const sourceAccount = props.sourceAccount;
  if (sourceAccount !== undefined && (typeof sourceAccount !== "string" || !isAccountId(sourceAccount))) {
    report(`sourceAccount ${quote(sourceAccount)} is not an account id`);
  } else if (sourceAccount === undefined && !isAccountId(arn.account)) {
    report(`sourceArn ${quote(sourceArn)} does not name an account: set sourceAccount`);
  } else if (sourceAccount !== undefined && isAccountId(arn.account) && arn.account !== sourceAccount) {
    report(`sourceArn names account ${arn.account} but sourceAccount is ${sourceAccount}`);
  }
}

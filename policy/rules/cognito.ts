/**
 * Cognito: user pools with a password policy of a minimum length and a short-lived temporary password; identity
 * pools that give no credentials to unauthenticated identities (Amazon Cognito Developer Guide, "Password
 * requirements" in "Adding user pool password requirements", "Identity pools guest access").
 */
import { positiveNumber, type Props, record, type Report } from "./values";

export interface PasswordPolicyConfig {
  /** Shortest password accepted. */
  minimumLength: number;
  /** Longest a temporary password (an administrator's invitation) may stay valid, in days. */
  maximumTemporaryPasswordDays: number;
}

export const PASSWORD_POLICY_DEFAULTS: PasswordPolicyConfig = { minimumLength: 12, maximumTemporaryPasswordDays: 7 };

/** Cognito's own defaults when a pool sets no password policy (API Reference, "PasswordPolicyType"). */
const COGNITO_DEFAULT_MINIMUM_LENGTH = 8;
const COGNITO_DEFAULT_TEMPORARY_DAYS = 7;

/** `aws:cognito/userPool:UserPool`: `passwordPolicy`. */
export function checkPasswordPolicy(props: Props, report: Report, config: PasswordPolicyConfig = PASSWORD_POLICY_DEFAULTS): void {
  const policy = record(props, "passwordPolicy");
  const length = positiveNumber(policy.minimumLength) ?? COGNITO_DEFAULT_MINIMUM_LENGTH;
  if (length < config.minimumLength) {
    report(`passwords may be ${length} characters; at least ${config.minimumLength} are required (passwordPolicy.minimumLength)`);
  }
  const days = positiveNumber(policy.temporaryPasswordValidityDays) ?? COGNITO_DEFAULT_TEMPORARY_DAYS;
  if (days > config.maximumTemporaryPasswordDays) {
    report(`temporary passwords stay valid ${days} days; at most ${config.maximumTemporaryPasswordDays} are allowed`);
  }
}

/** `aws:cognito/identityPool:IdentityPool`: no unauthenticated (guest) identities. */
export function checkIdentityPool(props: Props, report: Report): void {
  if (props.allowUnauthenticatedIdentities === true) {
    report("allowUnauthenticatedIdentities is on: anyone could get AWS credentials from this pool without signing in");
  }
}

/**
 * The CrossGuard policy pack of this project: `pulumi preview --policy-pack policy` (from the repository root) runs
 * these policies on every resource the program declares. The policies are in policies.ts, the checks in rules/;
 * docs/policy-pack.md lists them and how to run, configure and publish the pack.
 */
import { PolicyPack } from "@pulumi/policy";
import { PACK_NAME, POLICIES } from "./policies";

new PolicyPack(PACK_NAME, {
  description:
    "What the iot-enterprise-auth components deploy: token signing, scoped permissions and policies, encrypted tables with TTL, log retention, throttled and logged APIs, Cognito passwords, device code strength, provisioning hooks.",
  policies: POLICIES,
});

// js-yaml 4 is present through the toolchain's own dependencies but ships no types; the tests need only `load`.
declare module "js-yaml" {
  export function load(text: string): unknown;
}

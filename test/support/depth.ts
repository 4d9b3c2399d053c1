// How hard the tests push. `npm test` must stay under two minutes on two busy cores; `npm run test:deep`
// (also run by .ci/run) sets FLEETGUARD_TEST_DEEP=1 for more property runs and more rounds of the races.
export const DEEP = process.env.FLEETGUARD_TEST_DEEP === '1';

/** `quick` in `npm test`, `deep` in `npm run test:deep`. */
export function depth(quick: number, deep: number): number {
  return DEEP ? deep : quick;
}

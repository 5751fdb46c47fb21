// Test-only entry (`@rf/restic/testing`): the restic binaries a spec may run
// and the recorded outputs of each supported version.
export { resticBinariesForTests, resticFixturesDir, type ResticTestBinary } from './restic.testing';
